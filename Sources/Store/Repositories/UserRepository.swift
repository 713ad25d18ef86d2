import Foundation
import PostgresNIO

public struct UserRecord: Sendable, Equatable {
    public let id: Int64
    public let email: String
    public let role: String
    public let plan: String
    public let status: String
}

public struct UserRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    public func create(email: String, passwordHash: String? = nil, plan: String = "free", role: String = "user")
        async throws
        -> UserRecord
    {
        try await mappingConstraintErrors("a user with email \(email.lowercased())") {
            let row = try await client.query(
                """
                INSERT INTO users (email, password_hash, plan, role)
                VALUES (\(email.lowercased()), \(passwordHash), \(plan)::plan_tier, \(role))
                RETURNING id, email, role, plan::text, status
                """
            ).collect().first
            return try Self.record(row!)
        }
    }

    public func find(id: Int64) async throws -> UserRecord? {
        try await client.query("SELECT id, email, role, plan::text, status FROM users WHERE id = \(id)").collect().first
            .map(Self.record)
    }

    static func record(_ row: PostgresRow) throws -> UserRecord {
        let (id, email, role, plan, status) = try row.decode((Int64, String, String, String, String).self)
        return UserRecord(id: id, email: email, role: role, plan: plan, status: status)
    }
}
