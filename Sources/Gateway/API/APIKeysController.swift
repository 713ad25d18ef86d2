import Forwarding
import Foundation
import Hummingbird
import Store

/// `/v1/api-keys` (Elite): keys are shown whole once, at creation, and stored only as a hash.
/// Managing keys takes a signed-in session; a key cannot mint or revoke keys.
struct APIKeysController {
    let api: APIServices

    struct CreateBody: Decodable {
        var name: String
        var scopes: [String]
        var expiresAt: Date?
    }

    struct KeyBody: Encodable {
        var id: Int64
        var name: String
        var prefix: String
        var scopes: [String]
        var expiresAt: Date?
        var lastUsedAt: Date?
        var useCount: Int64
        var revokedAt: Date?
        var createdAt: Date
        /// Only in the response that creates the key.
        var key: String?

        init(_ record: APIKeyRecord, key: String? = nil) {
            id = record.id
            name = record.name
            prefix = record.prefix
            scopes = record.scopes
            expiresAt = record.expiresAt
            lastUsedAt = record.lastUsedAt
            useCount = record.useCount
            revokedAt = record.revokedAt
            createdAt = record.createdAt
            self.key = key
        }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("api-keys", use: list)
        group.post("api-keys", use: create)
        group.delete("api-keys/:id", use: revoke)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        _ = try caller.requireSession()
        return try APIFormat.response(["items": try await api.keys.list(userID: caller.userID).map { KeyBody($0) }])
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        _ = try caller.requireSession()
        try api.gate.checkAPIKeys(plan: caller.plan)
        let body = try await APIFormat.decode(CreateBody.self, from: request, context: context)
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw APIFormat.validation("name", "1 to 100 characters") }
        guard !body.scopes.isEmpty else {
            throw APIFormat.validation(
                "scopes", "give at least one of \(APIScope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for scope in body.scopes where APIScope(rawValue: scope) == nil {
            throw APIFormat.validation(
                "scopes", "\(scope) is not a scope; use \(APIScope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let expiry = body.expiresAt, expiry <= Date() {
            throw APIFormat.validation("expiresAt", "must be in the future")
        }
        let token = APIKeyToken.generate()
        let record = try await api.keys.create(
            userID: caller.userID, name: name, prefix: token.prefix, keyHash: token.hash,
            scopes: Array(Set(body.scopes)).sorted(), expiresAt: body.expiresAt)
        return try APIFormat.response(KeyBody(record, key: token.full), status: .created)
    }

    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        _ = try caller.requireSession()
        let id = try APIFormat.id(context, what: "API key")
        guard try await api.keys.revoke(userID: caller.userID, id: id) else {
            throw APIError.notFound("no active API key \(id)")
        }
        return APIFormat.noContent()
    }
}
