import Forwarding
import Foundation
import Store

/// What an API key may do. A signed-in session (JWT) may do everything its user may.
public enum APIScope: String, Sendable, CaseIterable, Codable {
    case pairsRead = "pairs:read"
    case pairsWrite = "pairs:write"
    case accountsRead = "accounts:read"
    case accountsWrite = "accounts:write"
    case analyticsRead = "analytics:read"
    case webhooksRead = "webhooks:read"
    case webhooksWrite = "webhooks:write"
}

/// The caller of an API request: a user, through a session or one of their API keys.
public struct Principal: Sendable {
    public enum Credential: Sendable {
        case session(UUID)
        case apiKey(APIKeyRecord)
    }

    public let user: UserRecord
    public let plan: PlanTier
    public let credential: Credential

    public var userID: Int64 { user.id }
    public var isAdmin: Bool { user.role == "admin" }

    /// Refuses with 403 `insufficient_scope` when an API key lacks the scope.
    public func require(_ scope: APIScope) throws {
        guard case .apiKey(let key) = credential else { return }
        if !key.scopes.contains(scope.rawValue) {
            throw APIError(
                .forbidden, code: "insufficient_scope",
                "this API key lacks the \(scope.rawValue) scope; create a key with it")
        }
    }

    /// Refuses API keys: managing keys and sessions takes a signed-in session.
    public func requireSession() throws -> UUID {
        switch credential {
        case .session(let id): return id
        case .apiKey:
            throw APIError(
                .forbidden, code: "session_required", "this endpoint needs a signed-in session, not an API key")
        }
    }
}

extension AppRequestContext {
    /// The authenticated caller; routes behind `Authenticator` always have one.
    public func caller() throws -> Principal {
        guard let principal else {
            throw APIError.unauthorized("unauthenticated", "send Authorization: Bearer <access token or API key>")
        }
        return principal
    }
}
