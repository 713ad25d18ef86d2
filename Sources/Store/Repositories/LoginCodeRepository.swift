import Foundation
import Logging
import PostgresNIO

/// One-time codes, stored as SHA-256 hashes (see migration 0009).
public struct LoginCodeRepository: Sendable {
    public enum Check: Sendable, Equatable {
        case accepted
        /// Wrong code; this many tries are left.
        case wrong(remaining: Int)
        /// No live code: never requested, expired or used.
        case expired
        /// Too many wrong tries: the code is dead.
        case exhausted
    }

    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger = Logger(label: "afx.codes")) {
        self.client = client
        self.logger = logger
    }

    /// Stores a new code, retiring the user's earlier unused ones of the same purpose.
    public func create(userID: Int64, purpose: String, codeHash: [UInt8], expiresAt: Date) async throws {
        try await client.transaction(logger: logger) { connection in
            try await connection.query(
                """
                UPDATE login_codes SET consumed_at = now()
                WHERE user_id = \(userID) AND purpose = \(purpose) AND consumed_at IS NULL
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO login_codes (user_id, purpose, code_hash, expires_at)
                VALUES (\(userID), \(purpose), \(Data(codeHash)), \(expiresAt))
                """, logger: logger)
        }
    }

    /// Checks a sign-in code against the user's live one, counting the try; the row is locked so
    /// concurrent guesses cannot exceed `maxAttempts`.
    public func checkSignIn(userID: Int64, codeHash: [UInt8], maxAttempts: Int) async throws -> Check {
        try await client.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, code_hash, attempts, expires_at <= now() FROM login_codes
                WHERE user_id = \(userID) AND purpose = 'signin' AND consumed_at IS NULL
                ORDER BY id DESC LIMIT 1 FOR UPDATE
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return .expired }
            let (id, stored, attempts, expired) = try row.decode((Int64, Data, Int32, Bool).self)
            if expired { return .expired }
            if attempts >= maxAttempts { return .exhausted }
            if ConstantTime.equal(Array(stored), codeHash) {
                try await connection.query(
                    "UPDATE login_codes SET consumed_at = now() WHERE id = \(id)", logger: logger)
                return .accepted
            }
            try await connection.query(
                "UPDATE login_codes SET attempts = attempts + 1 WHERE id = \(id)", logger: logger)
            let remaining = maxAttempts - Int(attempts) - 1
            return remaining > 0 ? .wrong(remaining: remaining) : .exhausted
        }
    }

    /// Uses a link code: returns its user, or nil when unknown, used or expired.
    public func consumeLink(codeHash: [UInt8]) async throws -> Int64? {
        try await client.query(
            """
            UPDATE login_codes SET consumed_at = now()
            WHERE purpose = 'link' AND code_hash = \(Data(codeHash)) AND consumed_at IS NULL AND expires_at > now()
            RETURNING user_id
            """
        ).collect().first?.decode(Int64.self)
    }
}
