import Foundation
import PostgresNIO

public struct UserRecord: Sendable, Equatable {
    public let id: Int64
    public let email: String
    public let role: String
    public let plan: String
    public let status: String
    public var displayName: String = ""
    public var createdAt: Date = .distantPast
}

public struct UserRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    static let columns = "id, email, role, plan::text, status, display_name, created_at"

    public func create(
        email: String, passwordHash: String? = nil, plan: String = "free", role: String = "user",
        displayName: String = ""
    ) async throws -> UserRecord {
        try await mappingConstraintErrors("a user with email \(email.lowercased())") {
            var query: PostgresQuery = """
                INSERT INTO users (email, password_hash, plan, role, display_name)
                VALUES (\(email.lowercased()), \(passwordHash), \(plan)::plan_tier, \(role), \(displayName))
                RETURNING
                """
            query.sql += " " + Self.columns
            let row = try await client.query(query).collect().first
            return try Self.record(row!)
        }
    }

    public func find(id: Int64) async throws -> UserRecord? {
        try await users("WHERE id = \(id)").first
    }

    /// The user and their bcrypt hash, for signing in (nil hash: no password set).
    public func credentials(email: String) async throws -> (user: UserRecord, passwordHash: String?)? {
        var query: PostgresQuery = "SELECT password_hash, "
        query.sql += Self.columns + " FROM users WHERE email = $1"
        query.binds.append(email.lowercased())
        guard let row = try await client.query(query).collect().first else { return nil }
        let cells = row.makeRandomAccess()
        let hash = try cells[0].decode(String?.self)
        return (try Self.record(row, offset: 1), hash)
    }

    /// Users whose email contains `text` (case-insensitive), newest first.
    public func search(_ text: String, limit: Int) async throws -> [UserRecord] {
        let pattern =
            "%"
            + text.lowercased().replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        return try await users("WHERE email LIKE \(pattern) ORDER BY id DESC LIMIT \(Int64(limit))")
    }

    public func setPlan(id: Int64, plan: String) async throws -> UserRecord {
        guard
            let user = try await users(
                "", update: "UPDATE users SET plan = \(plan)::plan_tier, updated_at = now() WHERE id = \(id)"
            ).first
        else { throw StoreError.notFound("user \(id)") }
        return user
    }

    /// The Telegram account the user proved is theirs (sign-in codes go to it).
    public func setTelegramUserID(id: Int64, telegramUserID: Int64) async throws {
        _ = try await mappingConstraintErrors("an AutoForwardX account linked to this Telegram account") {
            try await client.query(
                "UPDATE users SET telegram_user_id = \(telegramUserID), updated_at = now() WHERE id = \(id)")
        }
    }

    public func telegramUserID(id: Int64) async throws -> Int64? {
        try await client.query("SELECT telegram_user_id FROM users WHERE id = \(id)").collect().first?
            .decode(Int64?.self)
    }

    public func setStatus(id: Int64, status: String, reason: String?) async throws -> UserRecord {
        guard
            let user = try await users(
                "",
                update: """
                    UPDATE users SET status = \(status), suspended_reason = \(reason), updated_at = now()
                    WHERE id = \(id)
                    """
            ).first
        else { throw StoreError.notFound("user \(id)") }
        return user
    }

    private func users(_ filter: PostgresQuery, update: PostgresQuery? = nil) async throws -> [UserRecord] {
        var query: PostgresQuery
        if let update {
            query = update
            query.sql += " RETURNING " + Self.columns
        } else {
            query = PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM users ")
            query.sql += filter.sql
            query.binds = filter.binds
        }
        return try await client.query(query).collect().map { try Self.record($0) }
    }

    static func record(_ row: PostgresRow, offset: Int = 0) throws -> UserRecord {
        let cells = row.makeRandomAccess()
        return UserRecord(
            id: try cells[offset].decode(Int64.self), email: try cells[offset + 1].decode(String.self),
            role: try cells[offset + 2].decode(String.self), plan: try cells[offset + 3].decode(String.self),
            status: try cells[offset + 4].decode(String.self), displayName: try cells[offset + 5].decode(String.self),
            createdAt: try cells[offset + 6].decode(Date.self))
    }
}
