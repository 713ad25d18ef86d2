import Foundation
import PostgresNIO

/// A position in a newest-first log listing: the last row's time and id (rows written in the
/// same microsecond are told apart by id). Served by the `(pair_id, created_at DESC)` indexes.
public struct LogCursor: Sendable, Equatable {
    public let micros: Int64
    public let id: Int64

    public init(micros: Int64, id: Int64) {
        self.micros = micros
        self.id = id
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = Int64(parts[1]) else { return nil }
        self.init(micros: micros, id: id)
    }

    public var text: String { "\(micros)-\(id)" }
}

/// The per-pair message and error logs, newest first, a page at a time.
extension DeliveryRepository {
    public func messageLogs(pairID: Int64, before cursor: LogCursor? = nil, limit: Int) async throws
        -> (items: [MessageLogRecord], next: LogCursor?)
    {
        try await logPage(
            table: "message_logs",
            columns: "id, pair_id, source_message_id, dest_message_id, event, outcome, latency_ms, error, created_at",
            pairID: pairID, cursor: cursor, limit: limit
        ) { row in
            let r = try row.decode((Int64, Int64?, Int64?, Int64?, String, String, Int32?, String?, Date, Int64).self)
            return (
                MessageLogRecord(
                    id: r.0, pairID: r.1, sourceMessageID: r.2, destMessageID: r.3, event: r.4, outcome: r.5,
                    latencyMS: r.6.map(Int.init), error: r.7, createdAt: r.8),
                LogCursor(micros: r.9, id: r.0)
            )
        }
    }

    public func errorLogs(pairID: Int64, before cursor: LogCursor? = nil, limit: Int) async throws
        -> (items: [ErrorLogRecord], next: LogCursor?)
    {
        try await logPage(
            table: "error_logs", columns: "id, pair_id, source, code, message, created_at", pairID: pairID,
            cursor: cursor, limit: limit
        ) { row in
            let r = try row.decode((Int64, Int64?, String, String, String, Date, Int64).self)
            return (
                ErrorLogRecord(id: r.0, pairID: r.1, source: r.2, code: r.3, message: r.4, createdAt: r.5),
                LogCursor(micros: r.6, id: r.0)
            )
        }
    }

    /// One newest-first page of a pair's log: `columns` then the row's cursor position, which
    /// `decode` turns into an item and its cursor.
    private func logPage<Item>(
        table: String, columns: String, pairID: Int64, cursor: LogCursor?, limit: Int,
        decode: (PostgresRow) throws -> (Item, LogCursor)
    ) async throws -> (items: [Item], next: LogCursor?) {
        var query = PostgresQuery(
            unsafeSQL: """
                SELECT \(columns), (extract(epoch FROM created_at) * 1000000)::int8
                FROM \(table)
                WHERE pair_id = $1
                  AND (created_at, id) < (CASE WHEN $2 = 9223372036854775807 THEN 'infinity'::timestamptz
                        ELSE 'epoch'::timestamptz + $2 * interval '1 microsecond' END, $3)
                ORDER BY created_at DESC, id DESC LIMIT $4
                """)
        query.binds.append(pairID)
        query.binds.append(cursor?.micros ?? Int64.max)
        query.binds.append(cursor?.id ?? Int64.max)
        query.binds.append(Int64(limit))
        let decoded = try await client.query(query).collect().map(decode)
        return (decoded.map(\.0), decoded.count == limit ? decoded.last?.1 : nil)
    }
}
