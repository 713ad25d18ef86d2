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

    struct Entry<Value: Sendable>: Sendable {
        let value: Value?
        let expires: ContinuousClock.Instant
    }

    let repository: AccountRepository
    let cipher: CredentialCipher
    let ttl: Duration
    private let telegramCache = Mutex<[Int64: Entry<TelegramBot>]>([:])
    private let discordCache = Mutex<[Int64: Entry<DiscordTarget>]>([:])

    public init(repository: AccountRepository, cipher: CredentialCipher, ttl: Duration = .seconds(30)) {
        self.repository = repository
        self.cipher = cipher
        self.ttl = ttl
    }

    public func invalidate() {
        telegramCache.withLock { $0.removeAll() }
        discordCache.withLock { $0.removeAll() }
    }

    /// nil when no such bot is linked.
    /// The cached answer for a bot, if fresh: `.some(nil)` when it is known not to exist, nil when
    /// the database must be asked.
    public func cachedTelegram(id: Int64) -> TelegramBot?? {
        let now = ContinuousClock.now
        guard let entry = telegramCache.withLock({ $0[id] }), entry.expires > now else { return nil }
        return .some(entry.value)
    }

    public func telegram(id: Int64) async throws -> TelegramBot? {
        let now = ContinuousClock.now
        if let entry = telegramCache.withLock({ $0[id] }), entry.expires > now { return entry.value }
        var bot: TelegramBot?
        if let record = try await repository.telegram(id: id) {
            let text = try cipher.open(record.tokenCiphertext, context: CredentialCipher.Context.telegramToken)
            guard let token = BotToken(text) else { throw CredentialError.cannotOpen }
            bot = TelegramBot(
                id: record.id, userID: record.userID, botUserID: record.botUserID, username: record.username,
                token: token, webhookSecretHash: record.webhookSecretHash, plan: record.userPlan, status: record.status)
        }
        telegramCache.withLock { $0[id] = Entry(value: bot, expires: now + ttl) }
        return bot
    }

    public func discord(id: Int64) async throws -> DiscordTarget? {
        let now = ContinuousClock.now
        if let entry = discordCache.withLock({ $0[id] }), entry.expires > now { return entry.value }
        let target = try await repository.discord(id: id).map(discordTarget)
        discordCache.withLock { $0[id] = Entry(value: target, expires: now + ttl) }
        return target
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
