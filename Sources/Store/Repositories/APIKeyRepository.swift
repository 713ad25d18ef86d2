import Foundation
import PostgresNIO

public struct APIKeyRecord: Sendable, Equatable {
    public let id: Int64
    public let userID: Int64
    public let name: String
    /// The public start of the key, shown in listings.
    public let prefix: String
    public let scopes: [String]
    public let expiresAt: Date?
    public let lastUsedAt: Date?
    public let useCount: Int64
    public let revokedAt: Date?
    public let createdAt: Date
}

/// API keys, stored as a public prefix and the SHA-256 of the whole key.
public struct APIKeyRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    static let columns =
        "id, user_id, name, prefix, scopes, expires_at, last_used_at, use_count, revoked_at, created_at"

    public func create(
        userID: Int64, name: String, prefix: String, keyHash: [UInt8], scopes: [String], expiresAt: Date?
    ) async throws -> APIKeyRecord {
        try await mappingConstraintErrors("an API key with this prefix") {
            var query = PostgresQuery(
                unsafeSQL: """
                    INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes, expires_at)
                    VALUES ($1, $2, $3, $4, $5, $6) RETURNING \(Self.columns)
                    """)
            query.binds.append(userID)
            query.binds.append(name)
            query.binds.append(prefix)
            try query.binds.append(Data(keyHash))
            query.binds.append(scopes)
            query.binds.append(expiresAt)
            return try Self.record(try await client.query(query).collect().first!)
        }
    }

    /// The key with this prefix and its hash, for checking a presented key.
    public func find(prefix: String) async throws -> (key: APIKeyRecord, hash: [UInt8])? {
        var query = PostgresQuery(unsafeSQL: "SELECT key_hash, \(Self.columns) FROM api_keys WHERE prefix = $1")
        query.binds.append(prefix)
        guard let row = try await client.query(query).collect().first else { return nil }
        let hash = try row.makeRandomAccess()[0].decode(Data.self)
        return (try Self.record(row, offset: 1), Array(hash))
    }

    /// Records one use.
    public func touch(id: Int64) async throws {
        try await client.query(
            "UPDATE api_keys SET last_used_at = now(), use_count = use_count + 1 WHERE id = \(id)")
    }

    public func list(userID: Int64) async throws -> [APIKeyRecord] {
        var query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.columns) FROM api_keys WHERE user_id = $1 ORDER BY id DESC")
        query.binds.append(userID)
        return try await client.query(query).collect().map { try Self.record($0) }
    }

    /// Revokes one of the user's keys; false when there is no such unrevoked key.
    public func revoke(userID: Int64, id: Int64) async throws -> Bool {
        !(try await client.query(
            """
            UPDATE api_keys SET revoked_at = now()
            WHERE id = \(id) AND user_id = \(userID) AND revoked_at IS NULL RETURNING id
            """
        ).collect().isEmpty)
    }

    public func revokeAll(userID: Int64) async throws {
        try await client.query(
            "UPDATE api_keys SET revoked_at = now() WHERE user_id = \(userID) AND revoked_at IS NULL")
    }

    static func record(_ row: PostgresRow, offset: Int = 0) throws -> APIKeyRecord {
        let cells = row.makeRandomAccess()
        return APIKeyRecord(
            id: try cells[offset].decode(Int64.self), userID: try cells[offset + 1].decode(Int64.self),
            name: try cells[offset + 2].decode(String.self), prefix: try cells[offset + 3].decode(String.self),
            scopes: try cells[offset + 4].decode([String].self), expiresAt: try cells[offset + 5].decode(Date?.self),
            lastUsedAt: try cells[offset + 6].decode(Date?.self), useCount: try cells[offset + 7].decode(Int64.self),
            revokedAt: try cells[offset + 8].decode(Date?.self), createdAt: try cells[offset + 9].decode(Date.self))
    }
}
