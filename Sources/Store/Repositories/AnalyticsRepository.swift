import Foundation
import Logging
import PostgresNIO

/// One bucket of a report: counts by outcome and the latency histogram of delivered messages.
public struct AnalyticsBucket: Sendable, Equatable {
    public var start: Date
    public var delivered: Int64 = 0
    public var failed: Int64 = 0
    public var filtered: Int64 = 0
    /// Count per latency bucket (see `AnalyticsRepository.latencyBounds`).
    public var latency: [Int64] = Array(repeating: 0, count: AnalyticsRepository.latencyBounds.count)

    public init(start: Date) {
        self.start = start
    }

    public mutating func add(delivered: Int64, failed: Int64, filtered: Int64, latency: [Int64]) {
        self.delivered += delivered
        self.failed += failed
        self.filtered += filtered
        for index in latency.indices where index < self.latency.count { self.latency[index] += latency[index] }
    }
}

/// Hourly rollups of `message_logs` and reports over them.
public struct AnalyticsRepository: Sendable {
    public enum Granularity: String, Sendable, CaseIterable {
        case hour, day
    }

    /// What a report covers: one user, one pair, or (nil, nil) everyone.
    public struct Scope: Sendable {
        public var userID: Int64?
        public var pairID: Int64?
        public init(userID: Int64? = nil, pairID: Int64? = nil) {
            self.userID = userID
            self.pairID = pairID
        }
    }

    /// Lower bounds (ms) of the latency buckets; the last is open-ended.
    public static let latencyBounds: [Int] = [
        0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000,
    ]
    /// The thresholds `width_bucket` takes (every bound but the first).
    static let thresholds = "'{1,2,5,10,20,50,100,200,500,1000,2000,5000,10000,30000,60000}'::int[]"

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "afx.analytics")) {
        self.client = client
        self.logger = logger
    }

    /// The three rollup levels: table, grouping columns, conflict target.
    static let levels: [(table: String, keys: String, select: String)] = [
        ("message_stats_pair_hourly", "pair_id, hour, user_id", "coalesce(pair_id, 0), hour, user_id"),
        ("message_stats_user_hourly", "user_id, hour", "user_id, hour"),
        ("message_stats_hourly", "hour", "hour"),
    ]

    /// `array[count(*) FILTER (WHERE b = 0), …]`: the latency histogram of a group.
    static let histogram =
        "array[" + (0..<16).map { "count(*) FILTER (WHERE b = \($0))" }.joined(separator: ", ") + "]::int8[]"

    /// Folds message_logs rows older than `settle` (so rows still being committed are not skipped)
    /// into the hourly tables, at most `batch` rows per call. Returns how many rows it read, or
    /// nil when another instance holds the rollup.
    @discardableResult
    public func rollUp(settle: Duration, batch: Int = 50_000) async throws -> Int? {
        let settleMs = settle.wholeMilliseconds
        return try await client.transaction(logger: logger) { connection in
            let state = try await connection.query(
                "SELECT last_log_id FROM analytics_rollup_state WHERE id = 1 FOR UPDATE SKIP LOCKED", logger: logger
            ).collect()
            guard let last = try state.first?.decode(Int64.self) else { return nil }
            let upper = try await connection.query(
                """
                SELECT coalesce(max(id), \(last)), count(*) FROM (
                    SELECT id FROM message_logs
                    WHERE id > \(last) AND created_at < now() - \(settleMs) * interval '1 millisecond'
                    ORDER BY id LIMIT \(Int64(batch))) b
                """, logger: logger
            ).collect().first!.decode((Int64, Int64).self)
            guard upper.1 > 0 else { return 0 }
            for level in Self.levels {
                var query = PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(level.table) AS s (\(level.keys), delivered, failed, filtered, latency)
                        SELECT \(level.select), count(*) FILTER (WHERE outcome = 'delivered'),
                            count(*) FILTER (WHERE outcome = 'failed'), count(*) FILTER (WHERE outcome = 'filtered'),
                            \(Self.histogram)
                        FROM (
                            SELECT pair_id, user_id, outcome, date_trunc('hour', created_at, 'UTC') AS hour,
                                CASE WHEN outcome = 'delivered' AND latency_ms IS NOT NULL
                                    THEN width_bucket(latency_ms, \(Self.thresholds)) END AS b
                            FROM message_logs WHERE id > $1 AND id <= $2
                        ) batch
                        GROUP BY \(level.select)
                        ON CONFLICT (\(level.keys)) DO UPDATE SET
                            delivered = s.delivered + excluded.delivered, failed = s.failed + excluded.failed,
                            filtered = s.filtered + excluded.filtered,
                            latency = (SELECT array_agg(a + b ORDER BY i)
                                FROM unnest(s.latency, excluded.latency) WITH ORDINALITY AS t(a, b, i))
                        """)
                query.binds.append(last)
                query.binds.append(upper.0)
                try await connection.query(query, logger: logger)
            }
            try await connection.query(
                "UPDATE analytics_rollup_state SET last_log_id = \(upper.0), rolled_at = now() WHERE id = 1",
                logger: logger)
            return Int(upper.1)
        }
    }

    /// Buckets of `granularity` (UTC) in [from, to): the rolled-up hours of the scope's level plus
    /// the log rows not rolled up yet. Empty buckets are left out.
    public func report(scope: Scope, from: Date, to: Date, granularity: Granularity) async throws
        -> [AnalyticsBucket]
    {
        // The watermark first, as a value the planner sees: the unrolled rows are then a short
        // range of the primary key.
        let last =
            try await client.query(
                "SELECT last_log_id FROM analytics_rollup_state WHERE id = 1", logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
        let table: String
        let filter: String
        switch (scope.userID, scope.pairID) {
        case (_, .some):
            (table, filter) = ("message_stats_pair_hourly", "pair_id = $4")
        case (.some, nil):
            (table, filter) = ("message_stats_user_hourly", "user_id = $4")
        case (nil, nil):
            (table, filter) = ("message_stats_hourly", "true")
        }
        var rolled = PostgresQuery(
            unsafeSQL: """
                SELECT date_trunc($1, hour, 'UTC'), delivered, failed, filtered, latency
                FROM \(table) WHERE \(filter) AND hour >= $2 AND hour < $3
                """)
        rolled.binds.append(granularity.rawValue)
        rolled.binds.append(from)
        rolled.binds.append(to)
        if let id = scope.pairID ?? scope.userID { rolled.binds.append(id) }
        var recent = PostgresQuery(
            unsafeSQL: """
                SELECT date_trunc($1, created_at, 'UTC'), outcome,
                    CASE WHEN outcome = 'delivered' AND latency_ms IS NOT NULL
                        THEN width_bucket(latency_ms, \(Self.thresholds)) END
                FROM message_logs
                WHERE id > $6 AND ($2::int8 IS NULL OR user_id = $2) AND ($3::int8 IS NULL OR pair_id = $3)
                  AND created_at >= $4 AND created_at < $5
                """)
        var binds = PostgresBindings()
        binds.append(granularity.rawValue)
        binds.append(scope.userID)
        binds.append(scope.pairID)
        binds.append(from)
        binds.append(to)
        binds.append(last)
        recent.binds = binds
        var buckets: [Date: AnalyticsBucket] = [:]
        for row in try await client.query(rolled, logger: logger).collect() {
            let (start, delivered, failed, filtered, latency) = try row.decode(
                (Date, Int64, Int64, Int64, [Int64]).self)
            buckets[start, default: AnalyticsBucket(start: start)].add(
                delivered: delivered, failed: failed, filtered: filtered, latency: latency)
        }
        for row in try await client.query(recent, logger: logger).collect() {
            let (start, outcome, bucket) = try row.decode((Date, String, Int32?).self)
            var latency = Array(repeating: Int64(0), count: Self.latencyBounds.count)
            if let bucket { latency[Int(bucket)] = 1 }
            buckets[start, default: AnalyticsBucket(start: start)].add(
                delivered: outcome == "delivered" ? 1 : 0, failed: outcome == "failed" ? 1 : 0,
                filtered: outcome == "filtered" ? 1 : 0, latency: latency)
        }
        return buckets.values.sorted { $0.start < $1.start }
    }
}
