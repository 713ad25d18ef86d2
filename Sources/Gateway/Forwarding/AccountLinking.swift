import DiscordAPI
import Foundation
import PostgresNIO
import Store
import TelegramBotAPI

/// Linking platform accounts to a user: checks each credential with the platform, stores it
/// encrypted, and registers Telegram webhooks. Shared by the `afx` commands and the tests (and
/// the accounts API to come), so there is one way to link a bot.
public struct AccountLinking: Sendable {
    let accounts: AccountRepository
    let cipher: CredentialCipher
    let platforms: PlatformClients

    public init(client: PostgresClient, cipher: CredentialCipher, platforms: PlatformClients) {
        self.accounts = AccountRepository(client: client)
        self.cipher = cipher
        self.platforms = platforms
    }

    /// Checks the token with getMe and stores it encrypted.
    public func linkTelegramBot(userID: Int64, token: BotToken) async throws -> TelegramAccountRecord {
        let me: TelegramUser
        do {
            me = try await platforms.telegram.getMe(token: token)
        } catch {
            throw LinkingError("Telegram did not accept the token: \(error)")
        }
        let sealed = try cipher.seal(token.value, context: CredentialCipher.Context.telegramToken)
        return try await accounts.createTelegram(
            userID: userID, botUserID: me.id, username: me.username ?? me.firstName, tokenCiphertext: sealed)
    }

    /// Registers `<publicBaseURL>/telegram/<id>/webhook` with a fresh secret and the forwarded
    /// update types, and returns that URL. The secret's hash is stored first: Telegram may
    /// deliver as soon as the webhook is set.
    public func setTelegramWebhook(accountID: Int64, publicBaseURL: String) async throws -> String {
        let token = try await telegramToken(accountID: accountID)
        let secret = WebhookSecret.generate()
        try await accounts.setWebhookSecretHash(telegramAccountID: accountID, hash: WebhookSecret.hash(secret))
        var base = publicBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        let endpoint = "\(base)/telegram/\(accountID)/webhook"
        do {
            try await platforms.telegram.setWebhook(
                TelegramBotAPI.SetWebhook(url: endpoint, secretToken: secret), token: token)
        } catch {
            throw LinkingError("Telegram refused the webhook: \(error)")
        }
        return endpoint
    }

    /// Sends a plain-text message through a linked bot (sign-in codes, replies to /link).
    public func sendTelegramMessage(accountID: Int64, chatID: Int64, text: String) async throws {
        let token = try await telegramToken(accountID: accountID)
        do {
            _ = try await platforms.telegram.sendMessage(
                SendMessage(chatId: chatID, text: text, parseMode: nil), token: token)
        } catch {
            throw LinkingError("Telegram did not deliver the message: \(error)")
        }
    }

    /// The decrypted token of a linked bot.
    public func telegramToken(accountID: Int64) async throws -> BotToken {
        guard let record = try await accounts.telegram(id: accountID) else {
            throw LinkingError("no Telegram account \(accountID)")
        }
        guard
            let token = BotToken(
                try cipher.open(record.tokenCiphertext, context: CredentialCipher.Context.telegramToken))
        else { throw LinkingError("the stored token of Telegram account \(accountID) is unreadable") }
        return token
    }

    /// Checks the token with the current-user route and stores it encrypted.
    public func linkDiscordBot(
        userID: Int64, token: DiscordToken, applicationID: Int64? = nil, publicKey: String? = nil
    )
        async throws -> DiscordAccountRecord
    {
        let me: DiscordUser
        do {
            me = try await platforms.discord.currentUser(token: token)
        } catch {
            throw LinkingError("Discord did not accept the token: \(error)")
        }
        let sealed = try cipher.seal(token.value, context: CredentialCipher.Context.discordToken)
        return try await accounts.createDiscord(
            userID: userID, kind: "bot", applicationID: applicationID, botUserID: Int64(me.id),
            publicKey: publicKey?.lowercased(), username: me.username, tokenCiphertext: sealed)
    }

    /// Registers the slash commands and "Forward to…" for the application's linked bot (a bulk
    /// overwrite, so running it again is harmless); returns how many Discord now has.
    public func registerDiscordCommands(applicationID: Int64) async throws -> Int {
        guard let record = try await accounts.discord(applicationID: applicationID) else {
            throw LinkingError(
                "no Discord bot with application id \(applicationID) is linked (afx discord add-bot --application-id)")
        }
        guard
            let token = DiscordToken(
                try cipher.open(record.tokenCiphertext, context: CredentialCipher.Context.discordToken))
        else { throw LinkingError("the stored token of Discord account \(record.id) is unreadable") }
        do {
            return try await platforms.discord.overwriteCommands(
                applicationID: String(applicationID), commands: DiscordCommands.definitions, token: token)
        } catch {
            throw LinkingError("Discord refused the commands: \(error)")
        }
    }

    /// Stores a channel's incoming webhook URL encrypted (the URL holds the webhook's token).
    public func linkDiscordWebhook(userID: Int64, url: String, name: String) async throws -> DiscordAccountRecord {
        let url = url.trimmingCharacters(in: .whitespacesAndNewlines)
        guard DiscordWebhookURL(url) != nil else {
            throw LinkingError("that is not a Discord webhook URL (…/api/webhooks/ID/TOKEN)")
        }
        let sealed = try cipher.seal(url, context: CredentialCipher.Context.discordWebhook)
        return try await accounts.createDiscord(
            userID: userID, kind: "webhook", applicationID: nil, botUserID: nil, publicKey: nil, username: name,
            tokenCiphertext: sealed)
    }
}

/// A credential the platform refused, or an account that cannot be used; the message is for
/// the person linking it and holds no secret.
public struct LinkingError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
