import Crypto
import Foundation
import Hummingbird
import Logging
import Store

/// Sign-in by a one-time code sent through the user's own Telegram bot, and the linking of the
/// user's Telegram account that makes it possible.
///
/// Linking: `POST /v1/me/telegram-link` returns a code; the user sends `/link CODE` to one of
/// their linked bots in a private chat, which records who they are on Telegram. Signing in:
/// `POST /v1/auth/otp/request` sends a 6-digit code to that chat (valid 5 minutes, 5 tries);
/// `POST /v1/auth/otp/verify` trades it for a session. Only hashes of codes are stored.
struct OneTimeCodeController {
    let api: APIServices
    let codes: LoginCodeRepository
    let linking: AccountLinking
    let logger: Logger

    static let signInLifetime: TimeInterval = 300
    static let linkLifetime: TimeInterval = 900
    static let maxAttempts = 5

    struct RequestBody: Decodable {
        var email: String
    }

    struct VerifyBody: Decodable {
        var email: String
        var code: String
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("auth/otp/request", use: request)
        group.post("auth/otp/verify", use: verify)
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("me/telegram-link", use: startLink)
    }

    /// Always 202, whether or not the account exists or can receive codes (no account probing);
    /// the code is sent in the background so the answer takes the same time either way.
    @Sendable func request(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await APIFormat.decode(RequestBody.self, from: request, context: context)
        let email = body.email.trimmingCharacters(in: .whitespaces).lowercased()
        try await api.limitSignIn(clientAddress: context.clientAddress, email: email)
        if let (user, _) = try await api.users.credentials(email: email), user.status == "active",
            let chat = try await api.users.telegramUserID(id: user.id)
        {
            let code = String(format: "%06d", Int.random(in: 0..<1_000_000))
            try await codes.create(
                userID: user.id, purpose: "signin", codeHash: Self.signInHash(userID: user.id, code: code),
                expiresAt: Date().addingTimeInterval(Self.signInLifetime))
            let bots = try await api.accounts.telegram(userID: user.id).filter { $0.status == "active" }.map(\.id)
            Task { [linking, logger] in
                for bot in bots {
                    do {
                        try await linking.sendTelegramMessage(
                            accountID: bot, chatID: chat,
                            text: "Your AutoForwardX sign-in code is \(code). It expires in 5 minutes. "
                                + "If you did not ask for it, ignore this message.")
                        return
                    } catch {
                        logger.notice("a sign-in code was not delivered", metadata: ["bot": "\(bot)"])
                    }
                }
            }
        }
        return try APIFormat.response(
            ["message": "if this account has a linked Telegram chat, a code was sent there; it expires in 5 minutes"],
            status: .accepted)
    }

    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await APIFormat.decode(VerifyBody.self, from: request, context: context)
        let email = body.email.trimmingCharacters(in: .whitespaces).lowercased()
        try await api.limitSignIn(clientAddress: context.clientAddress, email: email)
        let code = body.code.trimmingCharacters(in: .whitespaces)
        guard code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else {
            throw APIFormat.validation("code", "the 6 digits from the Telegram message")
        }
        guard let (user, _) = try await api.users.credentials(email: email) else {
            throw APIError.unauthorized("invalid_code", "no valid code for this account; request a new one")
        }
        switch try await codes.checkSignIn(
            userID: user.id, codeHash: Self.signInHash(userID: user.id, code: code), maxAttempts: Self.maxAttempts)
        {
        case .accepted:
            guard user.status == "active" else {
                throw APIError(.forbidden, code: "account_suspended", "this account is suspended; contact support")
            }
            let issued = try await api.tokens.start(
                userID: user.id, userAgent: request.headers[.userAgent] ?? "", ip: context.clientAddress)
            return try APIFormat.response(
                AuthController.SessionResponse(
                    user: .init(user), accessToken: issued.accessToken, expiresIn: issued.expiresIn,
                    refreshToken: issued.refreshToken))
        case .wrong(let remaining):
            throw APIError.unauthorized(
                "invalid_code", "the code is wrong; \(remaining) tr\(remaining == 1 ? "y" : "ies") left")
        case .expired:
            throw APIError.unauthorized("invalid_code", "no valid code for this account; request a new one")
        case .exhausted:
            throw APIError.unauthorized("code_exhausted", "too many wrong codes; request a new one")
        }
    }

    /// A code the user sends to their bot as `/link CODE`.
    @Sendable func startLink(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        _ = try caller.requireSession()
        let bots = try await api.accounts.telegram(userID: caller.userID).filter { $0.status == "active" }
        guard !bots.isEmpty else {
            throw APIFormat.validation("accounts", "link a Telegram bot first; you send it the code")
        }
        let code = Base62.random(count: 12)
        let expiresAt = Date().addingTimeInterval(Self.linkLifetime)
        try await codes.create(
            userID: caller.userID, purpose: "link", codeHash: Self.linkHash(code), expiresAt: expiresAt)
        struct Body: Encodable {
            var code: String
            var expiresAt: Date
            var instructions: String
        }
        let names = bots.map { "@\($0.username)" }.joined(separator: " or ")
        return try APIFormat.response(
            Body(
                code: code, expiresAt: expiresAt,
                instructions: "send /link \(code) to \(names) in a private chat within 15 minutes"),
            status: .created)
    }

    static func signInHash(userID: Int64, code: String) -> [UInt8] {
        Array(SHA256.hash(data: Data("signin:\(userID):\(code)".utf8)))
    }

    static func linkHash(_ code: String) -> [UInt8] {
        Array(SHA256.hash(data: Data("link:\(code)".utf8)))
    }
}
