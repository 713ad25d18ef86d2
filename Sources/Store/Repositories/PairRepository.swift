import Forwarding
import Foundation
import PostgresNIO

/// Forwarding pairs. Every change NOTIFYs `afx_changes` so routing caches everywhere refresh.
public struct PairRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    static let columns = """
        SELECT p.id, p.user_id, p.name, p.source_platform::text,
            coalesce(p.source_telegram_account_id, p.source_discord_account_id), p.source_chat_id,
            p.dest_platform::text, coalesce(p.dest_telegram_account_id, p.dest_discord_account_id), p.dest_chat_id,
            p.status, p.paused_reason, p.delay_seconds, p.options::text
        FROM forwarding_pairs p
        """

    /// Creates a pair after checking both accounts belong to `pair.userID`.
    public func create(_ pair: Pair) async throws -> Pair {
        let options = String(decoding: try JSONEncoder().encode(pair.options), as: UTF8.self)
        let id = try await mappingConstraintErrors("a pair with this source and destination") {
            let rows = try await client.query(
                """
                INSERT INTO forwarding_pairs (user_id, name, source_platform, source_telegram_account_id,
                    source_discord_account_id, source_chat_id, dest_platform, dest_telegram_account_id,
                    dest_discord_account_id, dest_chat_id, status, delay_seconds, options)
                SELECT \(pair.userID), \(pair.name), \(pair.source.platform.rawValue)::platform,
                    \(pair.source.platform == .telegram ? pair.source.accountID : nil),
                    \(pair.source.platform == .discord ? pair.source.accountID : nil), \(pair.source.chatID),
                    \(pair.destination.platform.rawValue)::platform,
                    \(pair.destination.platform == .telegram ? pair.destination.accountID : nil),
                    \(pair.destination.platform == .discord ? pair.destination.accountID : nil), \(pair.destination.chatID),
                    \(pair.status.rawValue), \(pair.delaySeconds), \(options)::jsonb
                WHERE (CASE \(pair.source.platform.rawValue)
                        WHEN 'telegram' THEN EXISTS (SELECT 1 FROM telegram_accounts
                            WHERE id = \(pair.source.accountID) AND user_id = \(pair.userID))
                        ELSE EXISTS (SELECT 1 FROM discord_accounts
                            WHERE id = \(pair.source.accountID) AND user_id = \(pair.userID)) END)
                  AND (CASE \(pair.destination.platform.rawValue)
                        WHEN 'telegram' THEN EXISTS (SELECT 1 FROM telegram_accounts
                            WHERE id = \(pair.destination.accountID) AND user_id = \(pair.userID))
                        ELSE EXISTS (SELECT 1 FROM discord_accounts
                            WHERE id = \(pair.destination.accountID) AND user_id = \(pair.userID)) END)
                RETURNING id
                """
            ).collect()
            guard let row = rows.first else {
                throw StoreError.invalid("both accounts of a pair must be linked to the pair's user")
            }
            return try row.decode(Int64.self)
        }
        try await notifyChanged()
        return try await find(id: id)!
    }

    public func find(id: Int64) async throws -> Pair? {
        try await pairs("WHERE p.id = \(id)").first
    }

    public func list(userID: Int64) async throws -> [Pair] {
        try await pairs("WHERE p.user_id = \(userID) ORDER BY p.id")
    }

    public func listAll(limit: Int = 1000) async throws -> [Pair] {
        try await pairs("ORDER BY p.id LIMIT \(Int64(limit))")
    }

    /// The active pairs forwarding from one chat (the routing lookup; served by a partial index).
    public func activePairs(source platform: Platform, chatID: Int64) async throws -> [Pair] {
        try await pairs(
            "WHERE p.source_platform = \(platform.rawValue)::platform AND p.source_chat_id = \(chatID) AND p.status = 'active' ORDER BY p.id"
        )
    }

    private func pairs(_ filter: PostgresQuery) async throws -> [Pair] {
        var query = PostgresQuery(unsafeSQL: Self.columns)
        query.sql += " " + filter.sql
        query.binds = filter.binds
        return try await client.query(query).collect().map(Self.pair)
    }

    static func pair(_ row: PostgresRow) throws -> Pair {
        let r = try row.decode(
            (Int64, Int64, String, String, Int64, Int64, String, Int64, Int64, String, String?, Int32, String).self)
        let options = (try? JSONDecoder().decode(PairOptions.self, from: Data(r.12.utf8))) ?? PairOptions()
        return Pair(
            id: r.0, userID: r.1, name: r.2,
            source: .init(platform: Platform(rawValue: r.3) ?? .telegram, accountID: r.4, chatID: r.5),
            destination: .init(platform: Platform(rawValue: r.6) ?? .telegram, accountID: r.7, chatID: r.8),
            status: Pair.Status(rawValue: r.9) ?? .paused, pausedReason: r.10, delaySeconds: Int(r.11), options: options
        )
    }

    /// Pauses (with the reason shown on the pair) or resumes.
    public func setStatus(id: Int64, _ status: Pair.Status, reason: String? = nil) async throws {
        let rows = try await client.query(
            """
            UPDATE forwarding_pairs SET status = \(status.rawValue),
                paused_reason = \(status == .paused ? reason : nil),
                paused_at = CASE WHEN \(status.rawValue) = 'paused' THEN now() ELSE NULL END, updated_at = now()
            WHERE id = \(id) RETURNING id
            """
        ).collect()
        guard !rows.isEmpty else { throw StoreError.notFound("pair \(id)") }
        try await notifyChanged()
    }

    public func delete(id: Int64) async throws {
        let rows = try await client.query("DELETE FROM forwarding_pairs WHERE id = \(id) RETURNING id").collect()
        guard !rows.isEmpty else { throw StoreError.notFound("pair \(id)") }
        try await notifyChanged()
    }

    /// A Telegram group became a supergroup: every pair using the old chat id follows it.
    @discardableResult
    public func migrateTelegramChat(from oldID: Int64, to newID: Int64) async throws -> Int {
        let rows = try await client.query(
            """
            WITH s AS (
                UPDATE forwarding_pairs SET source_chat_id = \(newID), updated_at = now()
                WHERE source_platform = 'telegram' AND source_chat_id = \(oldID) RETURNING id
            ), d AS (
                UPDATE forwarding_pairs SET dest_chat_id = \(newID), updated_at = now()
                WHERE dest_platform = 'telegram' AND dest_chat_id = \(oldID) RETURNING id
            )
            SELECT id FROM s UNION ALL SELECT id FROM d
            """
        ).collect()
        if !rows.isEmpty { try await notifyChanged() }
        return rows.count
    }

    func notifyChanged() async throws {
        try await client.query("SELECT pg_notify(\(ChangeNotice.channel), \(ChangeNotice.pairs))")
    }
}
