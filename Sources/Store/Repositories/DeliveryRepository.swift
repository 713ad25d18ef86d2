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

    /// Records deliveries' copies and their log lines, all in one statement. Should one of them
    /// fail (its pair deleted meanwhile), none is written.
    public func recordDeliveries(_ deliveries: [DeliveryRecord]) async throws {
        guard !deliveries.isEmpty else { return }
        for try await _ in try await client.execute(RecordDeliveries(deliveries: deliveries)) {}
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

/// A delivered message: its copies, and the log line with its latency.
public struct DeliveryRecord: Sendable, Equatable {
    public let userID: Int64
    public let pairID: Int64
    public let sourceChatID: Int64
    public let sourceMessageID: Int64
    public let event: String
    /// At least one; the log line names the first.
    public let copies: [DeliveredCopy]
    public let latencyMS: Int

    public init(
        userID: Int64, pairID: Int64, sourceChatID: Int64, sourceMessageID: Int64, event: String,
        copies: [DeliveredCopy], latencyMS: Int
    ) {
        precondition(!copies.isEmpty, "a delivery record without copies")
        self.userID = userID
        self.pairID = pairID
        self.sourceChatID = sourceChatID
        self.sourceMessageID = sourceMessageID
        self.event = event
        self.copies = copies
        self.latencyMS = latencyMS
    }
}

/// The links of delivered messages and their log lines, in one statement; prepared (planned
/// once per connection) because it runs for every few deliveries.
struct RecordDeliveries: PostgresPreparedStatement {
    typealias Row = Int64

    // Committed without waiting for the WAL flush: each deliver job's completion is written after
    // it, so a crash cannot keep the completion and lose these rows (see DeliverJob). A copy
    // recorded twice in one batch (a job run twice at once) keeps its last row: ON CONFLICT DO
    // UPDATE may not touch a row twice in one statement.
    static let sql = """
        WITH relaxed AS (
            SELECT set_config('synchronous_commit', 'off', true) AS applied
        ), l AS (
            INSERT INTO message_links (pair_id, source_chat_id, source_message_id, part, dest_chat_id, dest_message_id)
            SELECT DISTINCT ON (pr, s, p) pr, sc, s, p, c, m
            FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int2[], $5::int8[], $6::int8[]) WITH ORDINALITY
                AS t(pr, sc, s, p, c, m, n)
            ORDER BY pr, s, p, n DESC
            ON CONFLICT (pair_id, source_message_id, part) DO UPDATE
                SET dest_chat_id = excluded.dest_chat_id, dest_message_id = excluded.dest_message_id
        )
        INSERT INTO message_logs (user_id, pair_id, source_message_id, dest_message_id, dest_chat_id, event, outcome, latency_ms)
        SELECT u, pr, s, m, c, e, 'delivered', ms
        FROM unnest($7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::text[], $13::int4[])
            AS t(u, pr, s, m, c, e, ms), relaxed
        RETURNING id
        """

    let deliveries: [DeliveryRecord]

    func makeBindings() throws -> PostgresBindings {
        var linkPairs: [Int64] = [], linkChats: [Int64] = [], linkSources: [Int64] = [], parts: [Int16] = []
        var destChats: [Int64] = [], destMessages: [Int64] = []
        for delivery in deliveries {
            for copy in delivery.copies {
                linkPairs.append(delivery.pairID)
                linkChats.append(delivery.sourceChatID)
                linkSources.append(copy.sourceMessageID)
                parts.append(Int16(copy.part))
                destChats.append(copy.destChatID)
                destMessages.append(copy.destMessageID)
            }
        }
        var bindings = PostgresBindings(capacity: 13)
        bindings.append(linkPairs)
        bindings.append(linkChats)
        bindings.append(linkSources)
        bindings.append(parts)
        bindings.append(destChats)
        bindings.append(destMessages)
        bindings.append(deliveries.map(\.userID))
        bindings.append(deliveries.map(\.pairID))
        bindings.append(deliveries.map(\.sourceMessageID))
        bindings.append(deliveries.map { $0.copies[0].destMessageID })
        bindings.append(deliveries.map { $0.copies[0].destChatID })
        bindings.append(deliveries.map(\.event))
        bindings.append(deliveries.map { Int32(clamping: $0.latencyMS) })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 {
        try row.decode(Int64.self)
    }
}
