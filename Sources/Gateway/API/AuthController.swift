import Forwarding
import Foundation
import Hummingbird
import Store

/// Register, sign in, refresh, sign out; the signed-in user and their sessions.
struct AuthController {
    let api: APIServices

    struct Credentials: Decodable {
        var email: String
        var password: String
        var displayName: String?
    }

    struct RefreshRequest: Decodable {
        var refreshToken: String
    }

    struct SessionResponse: Encodable {
        var user: UserBody
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var refreshToken: String
    }

    struct UserBody: Encodable {
        var id: Int64
        var email: String
        var displayName: String
        var role: String
        var plan: String
        var status: String
        var createdAt: Date

        init(_ user: UserRecord) {
            id = user.id
            email = user.email
            displayName = user.displayName
            role = user.role
            plan = user.plan
            status = user.status
            createdAt = user.createdAt
        }
    }

    func addPublicRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("auth/register", use: register)
        group.post("auth/login", use: login)
        group.post("auth/refresh", use: refresh)
        group.post("auth/logout", use: logout)
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("me", use: me)
        group.get("sessions", use: listSessions)
        group.delete("sessions/:id", use: revokeSession)
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await api.limitSignIn(clientAddress: context.clientAddress, email: nil)
        let body = try await APIFormat.decode(Credentials.self, from: request, context: context)
        let email = body.email.trimmingCharacters(in: .whitespaces).lowercased()
        guard Self.isEmail(email) else { throw APIFormat.validation("email", "not an email address") }
        guard (8...72).contains(body.password.utf8.count) else {
            throw APIFormat.validation("password", "must be 8 to 72 bytes long")
        }
        let displayName = body.displayName ?? ""
        guard displayName.count <= 100 else { throw APIFormat.validation("displayName", "at most 100 characters") }
        let hash = try await api.hasher.hash(body.password)
        let user: UserRecord
        do {
            user = try await api.users.create(email: email, passwordHash: hash, displayName: displayName)
        } catch StoreError.duplicate {
            throw APIError(.conflict, code: "email_taken", "an account with this email already exists; sign in")
        }
        return try await startSession(for: user, request: request, context: context, status: .created)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await APIFormat.decode(Credentials.self, from: request, context: context)
        let email = body.email.trimmingCharacters(in: .whitespaces).lowercased()
        try await api.limitSignIn(clientAddress: context.clientAddress, email: email)
        let found = try await api.users.credentials(email: email)
        // The same bcrypt work whether or not the email exists.
        guard try await api.hasher.verify(body.password, hash: found?.passwordHash), let user = found?.user else {
            throw APIError.unauthorized("invalid_credentials", "the email or password is wrong")
        }
        guard user.status == "active" else {
            throw APIError(.forbidden, code: "account_suspended", "this account is suspended; contact support")
        }
        return try await startSession(for: user, request: request, context: context, status: .ok)
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await APIFormat.decode(RefreshRequest.self, from: request, context: context)
        switch try await api.tokens.refresh(
            body.refreshToken, userAgent: request.headers[.userAgent] ?? "", ip: context.clientAddress)
        {
        case .success(let issued):
            guard let user = try await api.users.find(id: issued.userID), user.status == "active" else {
                throw APIError(.forbidden, code: "account_suspended", "this account is suspended; contact support")
            }
            return try APIFormat.response(
                SessionResponse(
                    user: UserBody(user), accessToken: issued.accessToken, expiresIn: issued.expiresIn,
                    refreshToken: issued.refreshToken))
        case .failure(.reused):
            throw APIError.unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the session is signed out everywhere it was used, sign in again")
        case .failure(.invalid):
            throw APIError.unauthorized("invalid_refresh_token", "the refresh token is unknown, expired or revoked")
        }
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await APIFormat.decode(RefreshRequest.self, from: request, context: context)
        _ = try await api.sessions.revoke(tokenHash: OpaqueToken.hash(body.refreshToken), reason: "signed out")
        return APIFormat.noContent()
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        struct Me: Encodable {
            var user: UserBody
            var limits: PlanBody
            var usage: Usage
        }
        struct Usage: Encodable {
            var pairs: Int
            var activePairs: Int
            var accounts: Int
        }
        let counts = try await api.pairs.counts(userID: caller.userID)
        let accounts = try await api.accounts.count(userID: caller.userID)
        return try APIFormat.response(
            Me(
                user: UserBody(caller.user), limits: PlanBody(api.gate.catalog[caller.plan]),
                usage: Usage(pairs: counts.all, activePairs: counts.active, accounts: accounts)))
    }

    @Sendable func listSessions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        let current = try caller.requireSession()
        struct Body: Encodable {
            var id: UUID
            var current: Bool
            var createdAt: Date
            var lastUsedAt: Date?
            var expiresAt: Date
            var userAgent: String
            var ip: String?
        }
        let sessions = try await api.sessions.list(userID: caller.userID).map {
            Body(
                id: $0.id, current: $0.id == current, createdAt: $0.createdAt, lastUsedAt: $0.lastUsedAt,
                expiresAt: $0.expiresAt, userAgent: $0.userAgent, ip: $0.ip)
        }
        return try APIFormat.response(["items": sessions])
    }

    @Sendable func revokeSession(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        _ = try caller.requireSession()
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            try await api.sessions.revoke(userID: caller.userID, family: id, reason: "revoked by user")
        else { throw APIError.notFound("no active session \(context.parameters.get("id") ?? "")") }
        return APIFormat.noContent()
    }

    private func startSession(
        for user: UserRecord, request: Request, context: AppRequestContext, status: HTTPResponse.Status
    ) async throws -> Response {
        let issued = try await api.tokens.start(
            userID: user.id, userAgent: request.headers[.userAgent] ?? "", ip: context.clientAddress)
        return try APIFormat.response(
            SessionResponse(
                user: UserBody(user), accessToken: issued.accessToken, expiresIn: issued.expiresIn,
                refreshToken: issued.refreshToken), status: status)
    }

    static func isEmail(_ text: String) -> Bool {
        text.count <= 254 && text.range(of: #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#, options: .regularExpression) != nil
    }
}

/// A plan as the API shows it.
struct PlanBody: Encodable {
    var id: String
    var name: String
    var maxAccounts: Int
    var maxPairs: Int
    var routes: [String]
    var media: Bool
    var editsSync: Bool
    var keywordFilters: Bool
    var regexFilters: Bool
    var maxDelaySeconds: Int
    var lane: String
    var apiKeys: Bool
    var outboundWebhooks: Bool
    var apiRequestsPerMinute: Int

    init(_ plan: Plan) {
        id = plan.tier.rawValue
        name = plan.name
        maxAccounts = plan.maxAccounts
        maxPairs = plan.maxPairs
        routes = plan.routes.map(\.description).sorted()
        media = plan.media
        editsSync = plan.editsSync
        keywordFilters = plan.keywordFilters
        regexFilters = plan.regexFilters
        maxDelaySeconds = plan.maxDelaySeconds
        lane = plan.lane
        apiKeys = plan.apiKeys
        outboundWebhooks = plan.outboundWebhooks
        apiRequestsPerMinute = plan.apiRequestsPerMinute
    }
}
