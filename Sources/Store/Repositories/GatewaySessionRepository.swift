import Foundation
import PostgresNIO

/// A Gateway session this instance holds the lease on, with what it needs to resume.
public struct GatewaySessionLease: Sendable, Equatable {
    public let accountID: Int64
    public let sessionID: String?
    public let sequence: Int64?
    public let resumeURL: String?
}

/// Leases on Discord Gateway sessions: which instance runs each bot's session. A lease is
/// taken when free or lapsed and renewed only by its owner, so two instances never hold the same
/// one; a crashed owner's sessions move once their leases lapse.
public struct GatewaySessionRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Takes or renews the lease of every active Discord bot that is free, lapsed or already
    /// ours; returns the ones ours now. A lease this instance held and does not get back was
    /// taken over (or its account is no longer active).
    public func acquire(owner: String, lease: Duration) async throws -> [GatewaySessionLease] {
        let milliseconds = lease.wholeMilliseconds
        return try await client.query(
            """
            INSERT INTO discord_gateway_sessions AS s (account_id, owner, lease_expires_at)
            SELECT a.id, \(owner), now() + \(milliseconds) * interval '1 millisecond'
            FROM discord_accounts a
            WHERE a.kind = 'bot' AND a.status = 'active'
            ORDER BY a.id
            ON CONFLICT (account_id) DO UPDATE SET owner = excluded.owner, lease_expires_at = excluded.lease_expires_at,
                updated_at = now()
            WHERE s.owner = excluded.owner OR s.lease_expires_at < now()
            RETURNING account_id, session_id, sequence, resume_url
            """
        ).collect().map { row in
            let r = try row.decode((Int64, String?, Int64?, String?).self)
            return GatewaySessionLease(accountID: r.0, sessionID: r.1, sequence: r.2, resumeURL: r.3)
        }
    }

    /// Records what resuming needs; only the lease holder may.
    @discardableResult
    public func saveResumeState(
        accountID: Int64, owner: String, sessionID: String?, sequence: Int64?, resumeURL: String?
    ) async throws -> Bool {
        try await client.query(
            """
            UPDATE discord_gateway_sessions SET session_id = \(sessionID), sequence = \(sequence),
                resume_url = \(resumeURL), updated_at = now()
            WHERE account_id = \(accountID) AND owner = \(owner)
            RETURNING 1
            """
        ).collect().count == 1
    }

    /// Gives leases up at once (graceful shutdown), so another instance need not wait them out.
    public func release(accountIDs: [Int64], owner: String) async throws {
        guard !accountIDs.isEmpty else { return }
        try await client.query(
            """
            UPDATE discord_gateway_sessions SET lease_expires_at = now() - interval '1 second', updated_at = now()
            WHERE account_id = ANY(\(accountIDs)) AND owner = \(owner)
            """)
    }
}
