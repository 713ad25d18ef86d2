import Foundation
import PostgresNIO

public struct TelegramAccountRecord: Sendable, Equatable {
    public let id: Int64
    public let userID: Int64
    public let botUserID: Int64
    public let username: String
    public let tokenCiphertext: [UInt8]
    public let webhookSecretHash: [UInt8]?
    public let status: String
    public let statusReason: String?
    public let pollOffset: Int64
    /// The owner's plan, which picks the queue lane of the bot's work.
    public let userPlan: String
}

public struct DiscordAccountRecord: Sendable, Equatable {
    public let id: Int64
    public let userID: Int64
    /// "bot" or "webhook".
    public let kind: String
    public let applicationID: Int64?
    public let botUserID: Int64?
    public let publicKey: String?
    public let username: String
    public let tokenCiphertext: [UInt8]
    public let status: String
    public let statusReason: String?
    public let userPlan: String
}

/// Linked Telegram bots and Discord bots/webhooks. Credentials arrive and leave encrypted.
public struct AccountRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    public func createTelegram(userID: Int64, botUserID: Int64, username: String, tokenCiphertext: [UInt8]) async throws
        -> TelegramAccountRecord
    {
        let id = try await mappingConstraintErrors("Telegram bot @\(username)") {
            try await client.query(
                """
                INSERT INTO telegram_accounts (user_id, bot_user_id, username, token_ciphertext)
                VALUES (\(userID), \(botUserID), \(username), \(Data(tokenCiphertext)))
                RETURNING id
                """
            ).collect().first!.decode(Int64.self)
        }
        return try await telegram(id: id)!
    }

    public func telegram(id: Int64) async throws -> TelegramAccountRecord? {
        try await telegramAccounts(where: "WHERE a.id = \(id)").first
    }

    /// The account a bot is linked as (a bot is linked once).
    public func telegram(botUserID: Int64) async throws -> TelegramAccountRecord? {
        try await telegramAccounts(where: "WHERE a.bot_user_id = \(botUserID)").first
    }

    public func telegram(userID: Int64) async throws -> [TelegramAccountRecord] {
        try await telegramAccounts(where: "WHERE a.user_id = \(userID) ORDER BY a.id")
    }

    private func telegramAccounts(where filter: PostgresQuery) async throws -> [TelegramAccountRecord] {
        var query: PostgresQuery = """
            SELECT a.id, a.user_id, a.bot_user_id, a.username, a.token_ciphertext, a.webhook_secret_hash, a.status::text,
                a.status_reason, a.poll_offset, u.plan::text
            FROM telegram_accounts a JOIN users u ON u.id = a.user_id
            """
        query.sql += " " + filter.sql
        query.binds = filter.binds
        return try await client.query(query).collect().map { row in
            let r = try row.decode(
                (Int64, Int64, Int64, String, Data, Data?, String, String?, Int64, String).self)
            return TelegramAccountRecord(
                id: r.0, userID: r.1, botUserID: r.2, username: r.3, tokenCiphertext: Array(r.4),
                webhookSecretHash: r.5.map(Array.init),
                status: r.6, statusReason: r.7, pollOffset: r.8, userPlan: r.9)
        }
    }

    public func setWebhookSecretHash(telegramAccountID id: Int64, hash: [UInt8]) async throws {
        try await client.query(
            "UPDATE telegram_accounts SET webhook_secret_hash = \(Data(hash)), updated_at = now() WHERE id = \(id)")
        try await notifyChanged()
    }

    public func setPollOffset(telegramAccountID id: Int64, offset: Int64) async throws {
        try await client.query("UPDATE telegram_accounts SET poll_offset = \(offset) WHERE id = \(id)")
    }

    public func setTelegramStatus(id: Int64, status: String, reason: String?) async throws {
        try await client.query(
            """
            UPDATE telegram_accounts SET status = \(status)::account_status, status_reason = \(reason),
                last_checked_at = now(), updated_at = now()
            WHERE id = \(id)
            """)
        try await notifyChanged()
    }

    public func createDiscord(
        userID: Int64, kind: String, applicationID: Int64?, botUserID: Int64?, publicKey: String?, username: String,
        tokenCiphertext: [UInt8]
    ) async throws -> DiscordAccountRecord {
        let id = try await mappingConstraintErrors("Discord \(kind) \(username)") {
            try await client.query(
                """
                INSERT INTO discord_accounts (user_id, kind, application_id, bot_user_id, public_key, username, token_ciphertext)
                VALUES (\(userID), \(kind), \(applicationID), \(botUserID), \(publicKey), \(username), \(Data(tokenCiphertext)))
                RETURNING id
                """
            ).collect().first!.decode(Int64.self)
        }
        return try await discord(id: id)!
    }

    public func discord(id: Int64) async throws -> DiscordAccountRecord? {
        try await discordAccounts(where: "WHERE a.id = \(id)").first
    }

    /// The bot account of a Discord application (interactions name their application).
    public func discord(applicationID: Int64) async throws -> DiscordAccountRecord? {
        try await discordAccounts(where: "WHERE a.application_id = \(applicationID) AND a.kind = 'bot'").first
    }

    /// Every linked Discord bot and webhook (to recognise our own messages on the Gateway).
    public func allDiscord() async throws -> [DiscordAccountRecord] {
        try await discordAccounts(where: "ORDER BY a.id")
    }

    public func discord(userID: Int64) async throws -> [DiscordAccountRecord] {
        try await discordAccounts(where: "WHERE a.user_id = \(userID) ORDER BY a.id")
    }

    private func discordAccounts(where filter: PostgresQuery) async throws -> [DiscordAccountRecord] {
        var query: PostgresQuery = """
            SELECT a.id, a.user_id, a.kind, a.application_id, a.bot_user_id, a.public_key, a.username, a.token_ciphertext,
                a.status::text, a.status_reason, u.plan::text
            FROM discord_accounts a JOIN users u ON u.id = a.user_id
            """
        query.sql += " " + filter.sql
        query.binds = filter.binds
        return try await client.query(query).collect().map { row in
            let r = try row.decode(
                (Int64, Int64, String, Int64?, Int64?, String?, String, Data, String, String?, String).self)
            return DiscordAccountRecord(
                id: r.0, userID: r.1, kind: r.2, applicationID: r.3, botUserID: r.4, publicKey: r.5, username: r.6,
                tokenCiphertext: Array(r.7), status: r.8, statusReason: r.9, userPlan: r.10)
        }
    }

    public func setDiscordStatus(id: Int64, status: String, reason: String?) async throws {
        try await client.query(
            """
            UPDATE discord_accounts SET status = \(status)::account_status, status_reason = \(reason),
                last_checked_at = now(), updated_at = now()
            WHERE id = \(id)
            """)
        try await notifyChanged()
    }

    /// Deletes one of the user's accounts (and, by cascade, the pairs using it); false when the
    /// user has no such account.
    public func delete(platform: String, id: Int64, userID: Int64) async throws -> Bool {
        let rows =
            platform == "telegram"
            ? try await client.query(
                "DELETE FROM telegram_accounts WHERE id = \(id) AND user_id = \(userID) RETURNING id"
            ).collect()
            : try await client.query(
                "DELETE FROM discord_accounts WHERE id = \(id) AND user_id = \(userID) RETURNING id"
            ).collect()
        guard !rows.isEmpty else { return false }
        try await notifyChanged()
        try await client.query("SELECT pg_notify(\(ChangeNotice.channel), \(ChangeNotice.pairs))")
        return true
    }

    /// Linked accounts of a user, Telegram and Discord together (what the plan limits).
    public func count(userID: Int64) async throws -> Int {
        Int(
            try await client.query(
                """
                SELECT (SELECT count(*) FROM telegram_accounts WHERE user_id = \(userID))
                    + (SELECT count(*) FROM discord_accounts WHERE user_id = \(userID))
                """
            ).collect().first!.decode(Int64.self))
    }

    /// Tells every instance's account caches to forget.
    func notifyChanged() async throws {
        try await client.query("SELECT pg_notify(\(ChangeNotice.channel), \(ChangeNotice.accounts))")
    }
}
