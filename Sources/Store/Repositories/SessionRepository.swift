import Foundation
import Logging
import PostgresNIO

/// A signed-in session: a family of refresh tokens, each replacing the one before it.
public struct SessionRecord: Sendable, Equatable {
    public let id: UUID
    public let userID: Int64
    public let createdAt: Date
    public let lastUsedAt: Date?
    public let expiresAt: Date
    public let userAgent: String
    public let ip: String?
}

public enum RefreshOutcome: Sendable, Equatable {
    /// The token was current: it is now replaced by the new one.
    case rotated(userID: Int64, family: UUID)
    /// The token had already been replaced: someone replayed it, so the whole family is revoked.
    case reused(userID: Int64, family: UUID)
    /// Unknown, expired or revoked.
    case invalid
}

/// Refresh tokens, stored only as SHA-256 hashes. Rotation is one transaction with the old row
/// locked, so two concurrent uses of one token cannot both succeed.
public struct SessionRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "afx.sessions")) {
        self.client = client
        self.logger = logger
    }

    /// Starts a new family with its first token.
    public func create(
        userID: Int64, tokenHash: [UInt8], expiresAt: Date, userAgent: String, ip: String?
    ) async throws -> UUID {
        let family = UUID()
        try await client.query(
            """
            INSERT INTO session_tokens (user_id, family_id, token_hash, user_agent, ip, expires_at)
            VALUES (\(userID), \(family), \(Data(tokenHash)), \(String(userAgent.prefix(300))), \(ip)::inet, \(expiresAt))
            """)
        return family
    }

    public func rotate(
        tokenHash: [UInt8], newHash: [UInt8], expiresAt: Date, userAgent: String, ip: String?
    ) async throws -> RefreshOutcome {
        try await client.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, user_id, family_id, replaced_by IS NOT NULL, revoked_at IS NOT NULL, expires_at <= now()
                FROM session_tokens WHERE token_hash = \(Data(tokenHash)) FOR UPDATE
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return .invalid }
            let (id, userID, family, replaced, revoked, expired) = try row.decode(
                (Int64, Int64, UUID, Bool, Bool, Bool).self)
            if replaced {
                try await connection.query(
                    """
                    UPDATE session_tokens SET revoked_at = now(), revoked_reason = 'refresh token reused'
                    WHERE family_id = \(family) AND revoked_at IS NULL
                    """, logger: logger)
                return .reused(userID: userID, family: family)
            }
            if revoked || expired { return .invalid }
            let next = try await connection.query(
                """
                INSERT INTO session_tokens (user_id, family_id, token_hash, user_agent, ip, expires_at, last_used_at)
                VALUES (\(userID), \(family), \(Data(newHash)), \(String(userAgent.prefix(300))), \(ip)::inet,
                    \(expiresAt), now())
                RETURNING id
                """, logger: logger
            ).collect().first!.decode(Int64.self)
            try await connection.query(
                """
                UPDATE session_tokens SET replaced_by = \(next), revoked_at = now(), revoked_reason = 'rotated'
                WHERE id = \(id)
                """, logger: logger)
            return .rotated(userID: userID, family: family)
        }
    }

    /// The user's sessions that can still be refreshed, most recently used first.
    public func list(userID: Int64) async throws -> [SessionRecord] {
        try await client.query(
            """
            SELECT t.family_id, t.user_id, f.started, t.last_used_at, t.expires_at, t.user_agent, host(t.ip)
            FROM session_tokens t
            JOIN LATERAL (SELECT min(created_at) AS started FROM session_tokens s WHERE s.family_id = t.family_id) f
                ON true
            WHERE t.user_id = \(userID) AND t.revoked_at IS NULL AND t.expires_at > now()
            ORDER BY coalesce(t.last_used_at, f.started) DESC
            """
        ).collect().map { row in
            let r = try row.decode((UUID, Int64, Date, Date?, Date, String, String?).self)
            return SessionRecord(
                id: r.0, userID: r.1, createdAt: r.2, lastUsedAt: r.3, expiresAt: r.4, userAgent: r.5, ip: r.6)
        }
    }

    /// Whether a family still has a current token (access tokens of revoked sessions stop working).
    public func isActive(family: UUID) async throws -> Bool {
        try await client.query(
            """
            SELECT EXISTS (SELECT 1 FROM session_tokens
                WHERE family_id = \(family) AND revoked_at IS NULL AND expires_at > now())
            """
        ).collect().first!.decode(Bool.self)
    }

    /// Revokes one session of the user; false when it is not theirs or already over.
    @discardableResult
    public func revoke(userID: Int64, family: UUID, reason: String) async throws -> Bool {
        !(try await client.query(
            """
            UPDATE session_tokens SET revoked_at = now(), revoked_reason = \(reason)
            WHERE family_id = \(family) AND user_id = \(userID) AND revoked_at IS NULL RETURNING id
            """
        ).collect().isEmpty)
    }

    /// Revokes the family a refresh token belongs to (sign-out).
    public func revoke(tokenHash: [UInt8], reason: String) async throws -> Bool {
        !(try await client.query(
            """
            UPDATE session_tokens SET revoked_at = now(), revoked_reason = \(reason)
            WHERE revoked_at IS NULL AND family_id =
                (SELECT family_id FROM session_tokens WHERE token_hash = \(Data(tokenHash)))
            RETURNING id
            """
        ).collect().isEmpty)
    }

    public func revokeAll(userID: Int64, reason: String) async throws {
        try await client.query(
            """
            UPDATE session_tokens SET revoked_at = now(), revoked_reason = \(reason)
            WHERE user_id = \(userID) AND revoked_at IS NULL
            """)
    }
}
