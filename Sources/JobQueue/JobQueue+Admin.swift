import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Counts of the job table, for `afx jobs stats`, `/metrics` and `/readyz`.
public struct QueueStats: Sendable, Codable {
    public struct Group: Sendable, Codable, Hashable {
        public let state: JobState
        public let kind: String
        public let lane: Lane
        public let count: Int
    }

    public let groups: [Group]
    /// Seconds the oldest due, unclaimed job has waited past its run time (0 when none).
    public let oldestDueSeconds: Double
    public let oldestDueSecondsByLane: [String: Double]

    public func count(state: JobState? = nil, kind: String? = nil, lane: Lane? = nil) -> Int {
        groups.filter {
            (state == nil || $0.state == state) && (kind == nil || $0.kind == kind) && (lane == nil || $0.lane == lane)
        }.reduce(0) { $0 + $1.count }
    }
}

extension JobQueue {
    public func stats() async throws -> QueueStats {
        var groups: [QueueStats.Group] = []
        let rows = try await client.query(
            "SELECT state::text, kind, lane, count(*)::int8 FROM jobs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", logger: logger
        )
        for try await (state, kind, lane, count) in rows.decode((String, String, Int16, Int64).self) {
            guard let state = JobState(rawValue: state), let lane = Lane(rawValue: lane) else { continue }
            groups.append(.init(state: state, kind: kind, lane: lane, count: Int(count)))
        }
        // One index probe per lane rather than a scan of every available job.
        let ages = try await client.query(
            """
            SELECT lane, coalesce(extract(epoch FROM now() - (
                SELECT min(run_at) FROM jobs j WHERE j.state = 'available' AND j.lane = l.lane AND j.run_at <= now()
            )), 0)::float8
            FROM (VALUES (0::int2), (1::int2), (2::int2)) AS l(lane)
            """, logger: logger)
        var byLane: [String: Double] = [:]
        for try await (lane, age) in ages.decode((Int16, Double).self) {
            byLane[Lane(rawValue: lane)?.description ?? "\(lane)"] = max(0, age)
        }
        return QueueStats(groups: groups, oldestDueSeconds: byLane.values.max() ?? 0, oldestDueSecondsByLane: byLane)
    }

    /// Jobs in a state (and of a kind), newest first.
    public func list(state: JobState? = nil, kind: String? = nil, limit: Int = 50) async throws -> [JobRecord] {
        try await records(
            """
            WHERE (\(state?.rawValue ?? "") = '' OR state::text = \(state?.rawValue ?? ""))
              AND (\(kind ?? "") = '' OR kind = \(kind ?? ""))
            ORDER BY id DESC
            LIMIT \(Int64(max(1, min(limit, 10_000))))
            """)
    }

    public func job(id: Int64) async throws -> JobRecord? {
        try await records("WHERE id = \(id)").first
    }

    private func records(_ filter: PostgresQuery) async throws -> [JobRecord] {
        var query: PostgresQuery = """
            SELECT id, kind, lane, state::text, attempt, max_attempts, run_at, created_at, finished_at, last_error,
                unique_key, ordering_key, payload::text, errors::text
            FROM jobs
            """
        query.sql += " " + filter.sql
        query.binds = filter.binds
        var records: [JobRecord] = []
        for try await row in try await client.query(query, logger: logger) {
            let r = try row.decode(
                (
                    Int64, String, Int16, String, Int32, Int32, Date, Date, Date?, String?, String?, String?, String,
                    String
                )
                .self)
            records.append(
                JobRecord(
                    id: r.0, kind: r.1, lane: Lane(rawValue: r.2) ?? .medium,
                    state: JobState(rawValue: r.3) ?? .available,
                    attempt: Int(r.4), maxAttempts: Int(r.5), runAt: r.6, createdAt: r.7, finishedAt: r.8,
                    lastError: r.9, uniqueKey: r.10, orderingKey: r.11, payload: r.12, errors: r.13))
        }
        return records
    }

    /// Cancels an unfinished job. A running job's worker loses its lease: its handler is cancelled
    /// (at once in this process, at the next heartbeat elsewhere) and its outcome is not written.
    public func cancel(id: Int64) async throws {
        let rows = try await client.query(
            """
            UPDATE jobs SET state = 'cancelled', finished_at = now(), lease_token = NULL, lease_expires_at = NULL
            WHERE id = \(id) AND state IN ('available', 'running')
            RETURNING id
            """, logger: logger
        ).collect()
        guard !rows.isEmpty else { throw try await missingOrWrongState(id, action: "cancelled") }
        for handler in cancelHandlers.withLock({ Array($0.values) }) { handler(id) }
    }

    /// Makes a discarded or cancelled job available again with a fresh set of attempts; its error
    /// history stays.
    public func retry(id: Int64) async throws {
        do {
            let rows = try await client.query(
                """
                UPDATE jobs SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL
                WHERE id = \(id) AND state IN ('discarded', 'cancelled')
                RETURNING id
                """, logger: logger
            ).collect()
            guard !rows.isEmpty else { throw try await missingOrWrongState(id, action: "retried") }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            let key = try await job(id: id)?.uniqueKey ?? "?"
            throw JobQueueError.uniqueKeyTaken(id, key)
        }
        jobsEnqueued()
    }

    /// Retries every discarded job (of one kind); returns how many. Of several discarded jobs
    /// sharing a unique key only the newest is retried, and none whose key an unfinished job holds.
    @discardableResult
    public func retryAllDiscarded(kind: String? = nil) async throws -> Int {
        let rows = try await client.query(
            """
            WITH candidates AS (
                SELECT DISTINCT ON (coalesce(d.unique_key, d.id::text)) d.id FROM jobs d
                WHERE d.state = 'discarded' AND (\(kind ?? "") = '' OR d.kind = \(kind ?? ""))
                  AND (d.unique_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM jobs a WHERE a.unique_key = d.unique_key AND a.state IN ('available', 'running')))
                ORDER BY coalesce(d.unique_key, d.id::text), d.id DESC
            )
            UPDATE jobs SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL
            FROM candidates WHERE jobs.id = candidates.id
            RETURNING jobs.id
            """, logger: logger
        ).collect()
        if !rows.isEmpty { jobsEnqueued() }
        return rows.count
    }

    /// Deletes completed jobs older than `retention` and discarded or cancelled ones older than
    /// `discardedRetention`, in batches so no statement holds many locks. Returns how many.
    @discardableResult
    public func prune(retention: Duration, discardedRetention: Duration, batchSize: Int = 5000) async throws -> Int {
        try await client.deleteInBatches(of: batchSize, logger: logger) { limit in
            """
            DELETE FROM jobs WHERE id IN (
                SELECT id FROM jobs
                WHERE (state = 'completed' AND finished_at < now() - \(Double(retention.milliseconds))::float8 * interval '1 millisecond')
                   OR (state IN ('discarded', 'cancelled') AND finished_at < now() - \(Double(discardedRetention.milliseconds))::float8 * interval '1 millisecond')
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """
        }
    }

    private func missingOrWrongState(_ id: Int64, action: String) async throws -> JobQueueError {
        let rows = try await client.query("SELECT state::text FROM jobs WHERE id = \(id)", logger: logger).collect()
        guard let state = try rows.first?.decode(String.self), let jobState = JobState(rawValue: state) else {
            return .notFound(id)
        }
        return .invalidState(id, jobState, action)
    }

    /// Worker pools in this process register to hear cancellations at once.
    func onLocalCancel(_ handler: @escaping @Sendable (Int64) -> Void) -> Int {
        cancelHandlers.withLock { handlers in
            let token = (handlers.keys.max() ?? 0) + 1
            handlers[token] = handler
            return token
        }
    }

    func removeLocalCancel(_ token: Int) {
        cancelHandlers.withLock { $0[token] = nil }
    }
}
