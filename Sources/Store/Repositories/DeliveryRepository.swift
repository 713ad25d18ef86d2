import Foundation
import PostgresNIO

/// A copy of a source message in a pair's destination (one per part when split or an album).
public struct MessageLink: Sendable, Equatable {
    public let part: Int
    public let destChatID: Int64
    public let destMessageID: Int64
    /// When the copy was sent (Telegram only deletes for 48 hours); nil when not read.
    public let createdAt: Date?

    public init(part: Int, destChatID: Int64, destMessageID: Int64, createdAt: Date? = nil) {
        self.part = part
        self.destChatID = destChatID
        self.destMessageID = destMessageID
        self.createdAt = createdAt
    }
}

/// One message sent to a destination for a source message (part > 0: the rest of a split text).
public struct DeliveredCopy: Sendable, Equatable {
    public let sourceMessageID: Int64
    public let part: Int
    public let destChatID: Int64
    public let destMessageID: Int64

    public init(sourceMessageID: Int64, part: Int, destChatID: Int64, destMessageID: Int64) {
        self.sourceMessageID = sourceMessageID
        self.part = part
        self.destChatID = destChatID
        self.destMessageID = destMessageID
    }
}

public struct MessageLogRecord: Sendable, Equatable {
    public let id: Int64
    public let pairID: Int64?
    public let sourceMessageID: Int64?
    public let destMessageID: Int64?
    public let event: String
    public let outcome: String
    public let latencyMS: Int?
    public let error: String?
    public let createdAt: Date
}

public struct ErrorLogRecord: Sendable, Equatable {
    public let id: Int64
    public let pairID: Int64?
    public let source: String
    public let code: String
    public let message: String
    public let createdAt: Date
}

/// Source↔copy links, delivery logs and error logs.
public struct DeliveryRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    public func links(pairID: Int64, sourceMessageID: Int64) async throws -> [MessageLink] {
        try await client.query(
            """
            SELECT part, dest_chat_id, dest_message_id, created_at FROM message_links
            WHERE pair_id = \(pairID) AND source_message_id = \(sourceMessageID) ORDER BY part
            """
        ).collect().map { row in
            let (part, chat, message, created) = try row.decode((Int16, Int64, Int64, Date).self)
            return MessageLink(part: Int(part), destChatID: chat, destMessageID: message, createdAt: created)
        }
    }

    /// Records copies as they are sent, so a retried delivery skips the parts already out.
    public func recordCopies(pairID: Int64, sourceChatID: Int64, _ copies: [DeliveredCopy]) async throws {
        guard !copies.isEmpty else { return }
        try await client.query(
            """
            INSERT INTO message_links (pair_id, source_chat_id, source_message_id, part, dest_chat_id, dest_message_id)
            SELECT \(pairID), \(sourceChatID), s, p, c, m
            FROM unnest(\(copies.map(\.sourceMessageID)), \(copies.map { Int16($0.part) }), \(copies.map(\.destChatID)),
                \(copies.map(\.destMessageID))) AS t(s, p, c, m)
            ON CONFLICT (pair_id, source_message_id, part) DO UPDATE
                SET dest_chat_id = excluded.dest_chat_id, dest_message_id = excluded.dest_message_id
            """)
    }

    /// Records a delivery's remaining copies and its log line in one statement.
    public func recordDelivery(
        userID: Int64, pairID: Int64, sourceChatID: Int64, sourceMessageID: Int64, event: String,
        copies: [DeliveredCopy], latencyMS: Int
    ) async throws {
        let statement = RecordDelivery(
            userID: userID, pairID: pairID, sourceChatID: sourceChatID, sourceMessageID: sourceMessageID, event: event,
            copies: copies, latencyMS: latencyMS)
        for try await _ in try await client.execute(statement) {}
    }

    /// Source messages of a pair that already have a copy (album items sent earlier).
    public func linkedSourceMessages(pairID: Int64, among ids: [Int64]) async throws -> Set<Int64> {
        var linked = Set<Int64>()
        let rows = try await client.query(
            "SELECT DISTINCT source_message_id FROM message_links WHERE pair_id = \(pairID) AND source_message_id = ANY(\(ids))"
        )
        for try await id in rows.decode(Int64.self) { linked.insert(id) }
        return linked
    }

    public func logOutcome(
        userID: Int64, pairID: Int64, sourceMessageID: Int64?, event: String, outcome: String, error: String? = nil,
        latencyMS: Int? = nil
    ) async throws {
        try await client.query(
            """
            INSERT INTO message_logs (user_id, pair_id, source_message_id, event, outcome, error, latency_ms)
            VALUES (\(userID), \(pairID), \(sourceMessageID), \(event), \(outcome), \(error), \(latencyMS.map { Int32(clamping: $0) }))
            """)
    }

    public func logError(userID: Int64?, pairID: Int64?, source: String, code: String, message: String) async throws {
        try await client.query(
            """
            INSERT INTO error_logs (user_id, pair_id, source, code, message)
            VALUES (\(userID), \(pairID), \(source), \(code), \(message))
            """)
    }
}

/// The links of a delivered message and its log line, in one statement; prepared (planned once
/// per connection) because it runs for every delivery.
struct RecordDelivery: PostgresPreparedStatement {
    typealias Row = Int64

    // Committed without waiting for the WAL flush: the deliver job's completion is written after
    // it, so a crash cannot keep the completion and lose these rows (see DeliverJob).
    static let sql = """
        WITH relaxed AS (
            SELECT set_config('synchronous_commit', 'off', true) AS applied
        ), l AS (
            INSERT INTO message_links (pair_id, source_chat_id, source_message_id, part, dest_chat_id, dest_message_id)
            SELECT $2, $3, s, p, c, m
            FROM unnest($4::int8[], $5::int2[], $6::int8[], $7::int8[]) AS t(s, p, c, m)
            ON CONFLICT (pair_id, source_message_id, part) DO UPDATE
                SET dest_chat_id = excluded.dest_chat_id, dest_message_id = excluded.dest_message_id
        )
        INSERT INTO message_logs (user_id, pair_id, source_message_id, dest_message_id, dest_chat_id, event, outcome, latency_ms)
        SELECT $1, $2, $8, $9, $10, $11, 'delivered', $12 FROM relaxed
        RETURNING id
        """

    let userID: Int64
    let pairID: Int64
    let sourceChatID: Int64
    let sourceMessageID: Int64
    let event: String
    let copies: [DeliveredCopy]
    let latencyMS: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(userID)
        bindings.append(pairID)
        bindings.append(sourceChatID)
        bindings.append(copies.map(\.sourceMessageID))
        bindings.append(copies.map { Int16($0.part) })
        bindings.append(copies.map(\.destChatID))
        bindings.append(copies.map(\.destMessageID))
        bindings.append(sourceMessageID)
        bindings.append(copies.first?.destMessageID)
        bindings.append(copies.first?.destChatID)
        bindings.append(event)
        bindings.append(Int32(clamping: latencyMS))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
        try row.decode(Int64.self)
    }
}
