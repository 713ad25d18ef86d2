import DiscordAPI
import Foundation
import PostgresNIO
import Store
import Synchronization
import TelegramBotAPI

/// Linked accounts with their credentials decrypted, cached briefly: the webhook route checks
/// a bot's secret on every request and must not read the database for it. `invalidate()` runs
/// when any instance changes an account (NOTIFY `afx_changes`).
public final class AccountDirectory: Sendable {
    public struct TelegramBot: Sendable {
        public let id: Int64
        public let userID: Int64
        public let botUserID: Int64
        public let username: String
        public let token: BotToken
        public let webhookSecretHash: [UInt8]?
        public let plan: String
        public let status: String
    }

    public struct DiscordTarget: Sendable {
        public enum Credential: Sendable {
            case bot(DiscordToken)
            case webhook(DiscordWebhookURL)
        }
        public let id: Int64
        public let userID: Int64
        public let credential: Credential
        public let applicationID: Int64?
        public let botUserID: Int64?
        public let publicKey: String?
        public let username: String
        public let plan: String
        public let status: String
    }

    let repository: AccountRepository
    let cipher: CredentialCipher
    private let telegramCache: RefreshingCache<Int64, TelegramBot?>
    private let discordCache: RefreshingCache<Int64, DiscordTarget?>

    public init(repository: AccountRepository, cipher: CredentialCipher, ttl: Duration = .seconds(30)) {
        self.repository = repository
        self.cipher = cipher
        telegramCache = RefreshingCache(ttl: ttl)
        discordCache = RefreshingCache(ttl: ttl)
    }

    public func invalidate() {
        telegramCache.invalidate()
        discordCache.invalidate()
    }

    /// The cached answer for a bot, if fresh: `.some(nil)` when it is known not to exist, nil when
    /// the database must be asked.
    public func cachedTelegram(id: Int64) -> TelegramBot?? {
        telegramCache.fresh(id)
    }

    /// nil when no such bot is linked.
    public func telegram(id: Int64) async throws -> TelegramBot? {
        try await telegramCache.value(id) { [repository, cipher] in
            guard let record = try await repository.telegram(id: id) else { return nil }
            let text = try cipher.open(record.tokenCiphertext, context: CredentialCipher.Context.telegramToken)
            guard let token = BotToken(text) else { throw CredentialError.cannotOpen }
            return TelegramBot(
                id: record.id, userID: record.userID, botUserID: record.botUserID, username: record.username,
                token: token, webhookSecretHash: record.webhookSecretHash, plan: record.userPlan, status: record.status)
        }
    }

    public func discord(id: Int64) async throws -> DiscordTarget? {
        try await discordCache.value(id) { [self] in try await repository.discord(id: id).map(discordTarget) }
    }

    /// The bot of a Discord application, for its interactions.
    public func discord(applicationID: Int64) async throws -> DiscordTarget? {
        guard let record = try await repository.discord(applicationID: applicationID) else { return nil }
        return try await discord(id: record.id)
    }

    /// The Discord user ids our bots post as and the ids of our webhooks: their messages come
    /// back over the Gateway and must not be forwarded again.
    public func ownDiscordAuthors() async throws -> Set<Int64> {
        var ids = Set<Int64>()
        for record in try await repository.allDiscord() {
            if let bot = record.botUserID { ids.insert(bot) }
            if record.kind == "webhook", case .webhook(let url)? = try? discordTarget(record).credential,
                let id = Int64(url.id)
            {
                ids.insert(id)
            }
        }
        return ids
    }

    private func discordTarget(_ record: DiscordAccountRecord) throws -> DiscordTarget {
        let credential: DiscordTarget.Credential
        if record.kind == "webhook" {
            let text = try cipher.open(record.tokenCiphertext, context: CredentialCipher.Context.discordWebhook)
            guard let url = DiscordWebhookURL(text) else { throw CredentialError.cannotOpen }
            credential = .webhook(url)
        } else {
            let text = try cipher.open(record.tokenCiphertext, context: CredentialCipher.Context.discordToken)
            guard let token = DiscordToken(text) else { throw CredentialError.cannotOpen }
            credential = .bot(token)
        }
        return DiscordTarget(
            id: record.id, userID: record.userID, credential: credential, applicationID: record.applicationID,
            botUserID: record.botUserID, publicKey: record.publicKey, username: record.username,
            plan: record.userPlan, status: record.status)
    }
}
