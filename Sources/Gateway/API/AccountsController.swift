import DiscordAPI
import Forwarding
import Foundation
import Hummingbird
import Store
import TelegramBotAPI

/// `/v1/accounts`: the user's linked Telegram bots and Discord bots and webhooks. Tokens go in
/// and are never returned; each account shows its health.
struct AccountsController {
    let api: APIServices
    let linking: AccountLinking

    struct AccountBody: Encodable {
        var id: Int64
        var platform: Platform
        /// telegram: bot; discord: bot or webhook.
        var kind: String
        var username: String
        var botUserId: Int64?
        var applicationId: Int64?
        var status: String
        var statusReason: String?
        /// Telegram only: whether Telegram pushes updates to us (else getUpdates polling).
        var webhookConfigured: Bool?

        init(_ record: TelegramAccountRecord) {
            id = record.id
            platform = .telegram
            kind = "bot"
            username = record.username
            botUserId = record.botUserID
            status = record.status
            statusReason = record.statusReason
            webhookConfigured = record.webhookSecretHash != nil
        }

        init(_ record: DiscordAccountRecord) {
            id = record.id
            platform = .discord
            kind = record.kind
            username = record.username
            botUserId = record.botUserID
            applicationId = record.applicationID
            status = record.status
            statusReason = record.statusReason
        }
    }

    struct TelegramLink: Decodable {
        var token: String
    }

    struct DiscordLink: Decodable {
        var botToken: String?
        var applicationId: String?
        var publicKey: String?
        var webhookUrl: String?
        var name: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("accounts", use: list)
        group.post("accounts/telegram", use: linkTelegram)
        group.post("accounts/discord", use: linkDiscord)
        group.delete("accounts/:platform/:id", use: unlink)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.accountsRead)
        let telegram = try await api.accounts.telegram(userID: caller.userID).map(AccountBody.init)
        let discord = try await api.accounts.discord(userID: caller.userID).map(AccountBody.init)
        return try APIFormat.response(["items": telegram + discord])
    }

    /// Checks the token with getMe, stores it encrypted and, when `server.publicUrl` is set,
    /// registers the webhook.
    @Sendable func linkTelegram(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.accountsWrite)
        let body = try await APIFormat.decode(TelegramLink.self, from: request, context: context)
        guard let token = BotToken(body.token.trimmingCharacters(in: .whitespaces)) else {
            throw APIFormat.validation("token", "not a Telegram bot token (123456:ABC…, from @BotFather)")
        }
        try await checkRoom(caller)
        let record = try await linked { try await linking.linkTelegramBot(userID: caller.userID, token: token) }
        try await recheckRoom(caller, platform: .telegram, id: record.id)
        if let publicURL = api.configuration.server.publicURL {
            _ = try await linked {
                try await linking.setTelegramWebhook(accountID: record.id, publicBaseURL: publicURL)
            }
        }
        let stored = try await api.accounts.telegram(id: record.id) ?? record
        return try APIFormat.response(AccountBody(stored), status: .created)
    }

    /// A bot (token checked with Discord; its Gateway session starts within a lease period) or a
    /// channel's incoming webhook URL.
    @Sendable func linkDiscord(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.accountsWrite)
        let body = try await APIFormat.decode(DiscordLink.self, from: request, context: context)
        let record: DiscordAccountRecord
        switch (body.botToken, body.webhookUrl) {
        case (let text?, nil):
            guard let token = DiscordToken(text.trimmingCharacters(in: .whitespaces)) else {
                throw APIFormat.validation("botToken", "not a Discord bot token")
            }
            var applicationID: Int64?
            if let text = body.applicationId {
                guard let id = Int64(text), id > 0 else {
                    throw APIFormat.validation("applicationId", "must be the application's numeric id")
                }
                applicationID = id
            }
            if let key = body.publicKey, key.range(of: "^[0-9a-fA-F]{64}$", options: .regularExpression) == nil {
                throw APIFormat.validation("publicKey", "must be the application's 64 hex digit public key")
            }
            try await checkRoom(caller)
            record = try await linked {
                try await linking.linkDiscordBot(
                    userID: caller.userID, token: token, applicationID: applicationID, publicKey: body.publicKey)
            }
        case (nil, let url?):
            let name = body.name ?? "webhook"
            guard (1...100).contains(name.count) else { throw APIFormat.validation("name", "1 to 100 characters") }
            try await checkRoom(caller)
            record = try await linked {
                try await linking.linkDiscordWebhook(userID: caller.userID, url: url, name: name)
            }
        default:
            throw APIFormat.validation("botToken", "give exactly one of botToken and webhookUrl")
        }
        try await recheckRoom(caller, platform: .discord, id: record.id)
        return try APIFormat.response(AccountBody(record), status: .created)
    }

    /// Unlinks an account; the pairs that use it are deleted with it.
    @Sendable func unlink(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.accountsWrite)
        let id = try APIFormat.id(context, what: "account")
        guard let platform = context.parameters.get("platform").flatMap(Platform.init(rawValue:)),
            try await api.accounts.delete(platform: platform.rawValue, id: id, userID: caller.userID)
        else { throw APIError.notFound("no \(context.parameters.get("platform") ?? "") account \(id)") }
        return APIFormat.noContent()
    }

    private func checkRoom(_ caller: Principal) async throws {
        try api.gate.checkNewAccount(
            plan: caller.plan, existingAccounts: try await api.accounts.count(userID: caller.userID))
    }

    /// Linking checks the credential with the platform, too slow to hold a lock over; so the
    /// count is checked again once the account is stored, and an account that concurrent links
    /// pushed over the limit is removed again (all of them may lose, none may exceed).
    private func recheckRoom(_ caller: Principal, platform: Platform, id: Int64) async throws {
        let count = try await api.accounts.count(userID: caller.userID)
        do {
            try api.gate.checkNewAccount(plan: caller.plan, existingAccounts: count - 1)
        } catch {
            _ = try await api.accounts.delete(platform: platform.rawValue, id: id, userID: caller.userID)
            throw error
        }
    }

    /// The platform refusing a credential is the caller's problem (422), not ours.
    private func linked<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as LinkingError {
            throw APIError(.unprocessableContent, code: "credential_refused", error.description)
        } catch StoreError.duplicate(let what) {
            throw APIError(.conflict, code: "already_linked", "\(what) is already linked")
        }
    }
}
