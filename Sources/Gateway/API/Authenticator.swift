import Crypto
import Forwarding
import Foundation
import HTTPTypes
import Hummingbird
import Store

/// Fixed one-minute windows counted in PostgreSQL, so every instance enforces the same limit.
public struct RateLimiter: Sendable {
    public struct State: Sendable {
        public let limit: Int
        public let count: Int
        public let resetsAt: Date

        public var exceeded: Bool { count > limit }
        var secondsToReset: Int { max(1, Int((resetsAt.timeIntervalSinceNow).rounded(.up))) }

        /// `RateLimit-Limit`, `-Remaining` and `-Reset` (seconds), on every limited response.
        var headers: HTTPFields {
            [
                HTTPField.Name("RateLimit-Limit")!: "\(limit)",
                HTTPField.Name("RateLimit-Remaining")!: "\(max(0, limit - count))",
                HTTPField.Name("RateLimit-Reset")!: "\(secondsToReset)",
            ]
        }

        func refusal(_ what: String) -> APIError {
            var headers = self.headers
            headers[.retryAfter] = "\(secondsToReset)"
            return APIError(
                .tooManyRequests, code: "rate_limited",
                "too many \(what): the limit is \(limit) per minute; retry in \(secondsToReset) s", headers: headers)
        }
    }

    let repository: RateLimitRepository
    let window: Duration

    public init(repository: RateLimitRepository, window: Duration = .seconds(60)) {
        self.repository = repository
        self.window = window
    }

    public func hit(_ key: String, limit: Int) async throws -> State {
        let (count, resetsAt) = try await repository.hit(key: key, window: window)
        if Int.random(in: 0..<1000) == 0 { try? await repository.prune(olderThan: .seconds(3600)) }
        return State(limit: limit, count: count, resetsAt: resetsAt)
    }
}

/// Resolves `Authorization: Bearer` (an access token or an `afx_live_` API key) to a
/// `Principal`, refuses suspended users, and applies the plan's request rate per user or key.
struct Authenticator: RouterMiddleware {
    typealias Context = AppRequestContext
    let api: APIServices
    /// Also take the token from `?access_token=` (WebSocket clients in browsers cannot set headers).
    var allowQueryToken = false

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let token: String
        if let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " {
            token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        } else if allowQueryToken, let query = request.uri.queryParameters.get("access_token"), !query.isEmpty {
            token = query
        } else {
            throw APIError.unauthorized(
                "unauthenticated", "send Authorization: Bearer <access token or API key>")
        }
        let principal =
            token.hasPrefix(APIKeyToken.marker) ? try await apiKeyPrincipal(token) : try await sessionPrincipal(token)
        guard principal.user.status == "active" else {
            throw APIError(.forbidden, code: "account_suspended", "this account is suspended; contact support")
        }
        let limitKey: String
        switch principal.credential {
        case .session: limitKey = "user:\(principal.userID)"
        case .apiKey(let key): limitKey = "key:\(key.id)"
        }
        let rate = try await api.limiter.hit(limitKey, limit: api.gate.catalog[principal.plan].apiRequestsPerMinute)
        if rate.exceeded { throw rate.refusal("requests") }
        var context = context
        context.principal = principal
        var response = try await next(request, context)
        response.headers.append(contentsOf: rate.headers)
        return response
    }

    private func sessionPrincipal(_ token: String) async throws -> Principal {
        let verified: (userID: Int64, session: UUID)
        do {
            verified = try await api.tokens.verify(token)
        } catch .expired {
            throw APIError.unauthorized("token_expired", "the access token has expired; refresh it at /v1/auth/refresh")
        } catch {
            throw APIError.unauthorized("invalid_token", "the bearer token is not a valid access token or API key")
        }
        guard try await api.sessions.isActive(family: verified.session),
            let user = try await api.users.find(id: verified.userID)
        else {
            throw APIError.unauthorized("session_revoked", "this session has been signed out; sign in again")
        }
        return Principal(
            user: user, plan: PlanTier(rawValue: user.plan) ?? .free, credential: .session(verified.session))
    }

    private func apiKeyPrincipal(_ token: String) async throws -> Principal {
        guard let presented = APIKeyToken(parsing: token) else {
            throw APIError.unauthorized("invalid_api_key", "the API key is malformed (check it was copied whole)")
        }
        guard let (key, hash) = try await api.keys.find(prefix: presented.prefix),
            ConstantTime.equal(hash, presented.hash)
        else {
            throw APIError.unauthorized("invalid_api_key", "the API key is not valid")
        }
        if key.revokedAt != nil {
            throw APIError.unauthorized("api_key_revoked", "this API key has been revoked")
        }
        if let expiry = key.expiresAt, expiry <= Date() {
            throw APIError.unauthorized("api_key_expired", "this API key expired at \(APIFormat.timestamp(expiry))")
        }
        guard let user = try await api.users.find(id: key.userID) else {
            throw APIError.unauthorized("invalid_api_key", "the API key is not valid")
        }
        let plan = PlanTier(rawValue: user.plan) ?? .free
        try api.gate.checkAPIKeys(plan: plan)
        try await api.keys.touch(id: key.id)
        return Principal(user: user, plan: plan, credential: .apiKey(key))
    }
}
