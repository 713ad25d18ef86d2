import Forwarding
import Foundation
import Logging
import PostgresNIO

/// Forwarding pairs. Every change NOTIFYs `afx_changes` so routing caches everywhere refresh.
public struct PairRepository: Sendable {
    let client: PostgresClient
    let logger = Logger(label: "afx.pairs")

    public init(client: PostgresClient) {
        self.client = client
    }

    static let columns = """
        SELECT p.id, p.user_id, p.name, p.source_platform::text,
            coalesce(p.source_telegram_account_id, p.source_discord_account_id), p.source_chat_id,
            p.dest_platform::text, coalesce(p.dest_telegram_account_id, p.dest_discord_account_id), p.dest_chat_id,
            p.status, p.paused_reason, p.delay_seconds, p.options::text
        FROM forwarding_pairs p
        """

    /// Creates a pair after checking both accounts belong to `pair.userID`, with no plan check
    /// (operators and tests; the API and commands pass their check to `create(_:check:)`).
    public func create(_ pair: Pair) async throws -> Pair {
        try await create(pair) { _, _ in }
    }

    public func find(id: Int64) async throws -> Pair? {
        try await pairs("WHERE p.id = \(id)").first
    }

    public func list(userID: Int64) async throws -> [Pair] {
        try await pairs("WHERE p.user_id = \(userID) ORDER BY p.id")
    }

    public func listAll(limit: Int = 1000) async throws -> [Pair] {
        try await pairs("ORDER BY p.id LIMIT \(Int64(limit))")
    }

    /// The active pairs forwarding from one chat (the routing lookup; served by a partial index).
    public func activePairs(source platform: Platform, chatID: Int64) async throws -> [Pair] {
        try await pairs(
            "WHERE p.source_platform = \(platform.rawValue)::platform AND p.source_chat_id = \(chatID) AND p.status = 'active' ORDER BY p.id"
        )
    }

    private func pairs(_ filter: PostgresQuery) async throws -> [Pair] {
        var query = PostgresQuery(unsafeSQL: Self.columns)
        query.sql += " " + filter.sql
        query.binds = filter.binds
        return try await client.query(query).collect().map(Self.pair)
    }

    static func pair(_ row: PostgresRow) throws -> Pair {
        let r = try row.decode(
            (Int64, Int64, String, String, Int64, Int64, String, Int64, Int64, String, String?, Int32, String).self)
        let options = (try? JSONDecoder().decode(PairOptions.self, from: Data(r.12.utf8))) ?? PairOptions()
        return Pair(
            id: r.0, userID: r.1, name: r.2,
            source: .init(platform: Platform(rawValue: r.3) ?? .telegram, accountID: r.4, chatID: r.5),
            destination: .init(platform: Platform(rawValue: r.6) ?? .telegram, accountID: r.7, chatID: r.8),
            status: Pair.Status(rawValue: r.9) ?? .paused, pausedReason: r.10, delaySeconds: Int(r.11), options: options
        )
    }

    /// Pauses (with the reason shown on the pair) or resumes.
    public func setStatus(id: Int64, _ status: Pair.Status, reason: String? = nil) async throws {
        let rows = try await client.query(
            """
            UPDATE forwarding_pairs SET status = \(status.rawValue),
                paused_reason = \(status == .paused ? reason : nil),
                paused_at = CASE WHEN \(status.rawValue) = 'paused' THEN now() ELSE NULL END, updated_at = now()
            WHERE id = \(id) RETURNING id
            """
        ).collect()
        guard !rows.isEmpty else { throw StoreError.notFound("pair \(id)") }
        try await notifyChanged()
    }

    public func delete(id: Int64) async throws {
        let rows = try await client.query("DELETE FROM forwarding_pairs WHERE id = \(id) RETURNING id").collect()
        guard !rows.isEmpty else { throw StoreError.notFound("pair \(id)") }
        try await notifyChanged()
    }

    /// A Telegram group became a supergroup: every pair using the old chat id follows it.
    @discardableResult
    public func migrateTelegramChat(from oldID: Int64, to newID: Int64) async throws -> Int {
        let rows = try await client.query(
            """
            WITH s AS (
                UPDATE forwarding_pairs SET source_chat_id = \(newID), updated_at = now()
                WHERE source_platform = 'telegram' AND source_chat_id = \(oldID) RETURNING id
            ), d AS (
                UPDATE forwarding_pairs SET dest_chat_id = \(newID), updated_at = now()
                WHERE dest_platform = 'telegram' AND dest_chat_id = \(oldID) RETURNING id
            )
            SELECT id FROM s UNION ALL SELECT id FROM d
            """
        ).collect()
        if !rows.isEmpty { try await notifyChanged() }
        return rows.count
    }

    func notifyChanged() async throws {
        try await client.query("SELECT pg_notify(\(ChangeNotice.channel), \(ChangeNotice.pairs))")
    }
}

/// The REST API's view of pairs: pages, counts, changes and bulk actions, each scoped to a user.
extension PairRepository {
    public struct PageFilter: Sendable {
        public var status: Pair.Status?
        public var sourcePlatform: Platform?
        public var destinationPlatform: Platform?
        public init(status: Pair.Status? = nil, sourcePlatform: Platform? = nil, destinationPlatform: Platform? = nil) {
            self.status = status
            self.sourcePlatform = sourcePlatform
            self.destinationPlatform = destinationPlatform
        }
    }

    /// Up to `limit` of the user's pairs with ids above `after`, oldest first.
    public func page(userID: Int64, filter: PageFilter, after: Int64, limit: Int) async throws -> [Pair] {
        try await pairs(
            """
            WHERE p.user_id = \(userID) AND p.id > \(after)
              AND (\(filter.status?.rawValue)::text IS NULL OR p.status = \(filter.status?.rawValue))
              AND (\(filter.sourcePlatform?.rawValue)::text IS NULL
                   OR p.source_platform::text = \(filter.sourcePlatform?.rawValue))
              AND (\(filter.destinationPlatform?.rawValue)::text IS NULL
                   OR p.dest_platform::text = \(filter.destinationPlatform?.rawValue))
            ORDER BY p.id LIMIT \(Int64(limit))
            """)
    }

    /// Creates a pair after `check` approves it, with the user's row locked so concurrent creates
    /// cannot both pass a limit. `check` gets the user's plan and pair count.
    public func create(
        _ pair: Pair, check: @Sendable (_ plan: String, _ existingPairs: Int) throws -> Void
    ) async throws -> Pair {
        let options = String(decoding: try JSONEncoder().encode(pair.options), as: UTF8.self)
        let id = try await mappingConstraintErrors("a pair with this source and destination") {
            try await client.transaction(logger: logger) { connection in
                // Lock first, count after: the count must see pairs committed by whoever held the
                // lock before us, which a subquery of the locking statement would not (its
                // snapshot predates the wait).
                let locked = try await connection.query(
                    "SELECT plan::text FROM users WHERE id = \(pair.userID) FOR UPDATE", logger: logger
                ).collect()
                guard let row = locked.first else { throw StoreError.notFound("user \(pair.userID)") }
                let plan = try row.decode(String.self)
                let count = try await connection.query(
                    "SELECT count(*) FROM forwarding_pairs WHERE user_id = \(pair.userID)", logger: logger
                ).collect().first!.decode(Int64.self)
                for endpoint in [pair.source, pair.destination] {
                    let owned = try await connection.query(Self.owns(pair.userID, endpoint), logger: logger).collect()
                    guard !owned.isEmpty else {
                        throw StoreError.invalid(
                            "\(endpoint.platform.rawValue) account \(endpoint.accountID) is not one of your linked accounts"
                        )
                    }
                }
                try check(plan, Int(count))
                let inserted = try await connection.query(
                    """
                    INSERT INTO forwarding_pairs (user_id, name, source_platform, source_telegram_account_id,
                        source_discord_account_id, source_chat_id, dest_platform, dest_telegram_account_id,
                        dest_discord_account_id, dest_chat_id, status, delay_seconds, options)
                    VALUES (\(pair.userID), \(pair.name), \(pair.source.platform.rawValue)::platform,
                        \(pair.source.platform == .telegram ? pair.source.accountID : nil),
                        \(pair.source.platform == .discord ? pair.source.accountID : nil), \(pair.source.chatID),
                        \(pair.destination.platform.rawValue)::platform,
                        \(pair.destination.platform == .telegram ? pair.destination.accountID : nil),
                        \(pair.destination.platform == .discord ? pair.destination.accountID : nil),
                        \(pair.destination.chatID), \(pair.status.rawValue), \(pair.delaySeconds), \(options)::jsonb)
                    RETURNING id
                    """, logger: logger
                ).collect()
                return try inserted.first!.decode(Int64.self)
            }
        }
        try await notifyChanged()
        return try await find(id: id)!
    }

    /// Writes a pair's name, delay, options and status (the endpoints stay as they are).
    public func update(_ pair: Pair) async throws -> Pair {
        let options = String(decoding: try JSONEncoder().encode(pair.options), as: UTF8.self)
        let rows = try await client.query(
            """
            UPDATE forwarding_pairs SET name = \(pair.name), delay_seconds = \(pair.delaySeconds),
                options = \(options)::jsonb, status = \(pair.status.rawValue),
                paused_reason = CASE WHEN \(pair.status.rawValue) = 'paused' THEN \(pair.pausedReason) END,
                paused_at = CASE WHEN \(pair.status.rawValue) = 'paused' THEN coalesce(paused_at, now()) END,
                updated_at = now()
            WHERE id = \(pair.id) AND user_id = \(pair.userID) RETURNING id
            """
        ).collect()
        guard !rows.isEmpty else { throw StoreError.notFound("pair \(pair.id)") }
        try await notifyChanged()
        return try await find(id: pair.id)!
    }

    /// How many pairs the user has, and how many of them are active.
    public func counts(userID: Int64) async throws -> (all: Int, active: Int) {
        let row = try await client.query(
            """
            SELECT count(*), count(*) FILTER (WHERE status = 'active')
            FROM forwarding_pairs WHERE user_id = \(userID)
            """
        ).collect().first!
        let (all, active) = try row.decode((Int64, Int64).self)
        return (Int(all), Int(active))
    }

    /// Pauses the given pairs of a user (all of them when `ids` is nil) in one statement.
    public func pause(userID: Int64, ids: [Int64]?, reason: String) async throws -> [Int64] {
        let rows = try await client.query(
            """
            UPDATE forwarding_pairs SET status = 'paused', paused_reason = \(reason), paused_at = now(),
                updated_at = now()
            WHERE user_id = \(userID) AND status = 'active' AND (\(ids)::bigint[] IS NULL OR id = ANY(\(ids)))
            RETURNING id
            """
        ).collect().map { try $0.decode(Int64.self) }
        if !rows.isEmpty { try await notifyChanged() }
        return rows.sorted()
    }

    /// Resumes paused pairs of a user (all when `ids` is nil), refused as a whole by `check` when
    /// the plan would be exceeded; one transaction with the user locked.
    public func resume(
        userID: Int64, ids: [Int64]?,
        check: @Sendable (_ plan: String, _ active: Int, _ resuming: [Pair]) throws -> Void
    ) async throws -> [Int64] {
        let resumed = try await client.transaction(logger: logger) { connection in
            let plan = try await connection.query(
                "SELECT plan::text FROM users WHERE id = \(userID) FOR UPDATE", logger: logger
            ).collect().first?.decode(String.self)
            guard let plan else { throw StoreError.notFound("user \(userID)") }
            let active = try await connection.query(
                "SELECT count(*) FROM forwarding_pairs WHERE user_id = \(userID) AND status = 'active'",
                logger: logger
            ).collect().first!.decode(Int64.self)
            var query = PostgresQuery(unsafeSQL: Self.columns)
            query.sql += " WHERE p.user_id = $1 AND p.status = 'paused' AND ($2::bigint[] IS NULL OR p.id = ANY($2))"
            query.sql += " ORDER BY p.id"
            query.binds.append(userID)
            query.binds.append(ids)
            let paused = try await connection.query(query, logger: logger).collect().map(Self.pair)
            try check(plan, Int(active), paused)
            let resumeIDs = paused.map(\.id)
            try await connection.query(
                """
                UPDATE forwarding_pairs SET status = 'active', paused_reason = NULL, paused_at = NULL,
                    updated_at = now()
                WHERE id = ANY(\(resumeIDs))
                """, logger: logger)
            return resumeIDs
        }
        if !resumed.isEmpty { try await notifyChanged() }
        return resumed
    }

    /// Deletes the given pairs of a user in one statement; returns the ids deleted.
    public func delete(userID: Int64, ids: [Int64]) async throws -> [Int64] {
        let rows = try await client.query(
            "DELETE FROM forwarding_pairs WHERE user_id = \(userID) AND id = ANY(\(ids)) RETURNING id"
        ).collect().map { try $0.decode(Int64.self) }
        if !rows.isEmpty { try await notifyChanged() }
        return rows.sorted()
    }

    static func owns(_ userID: Int64, _ endpoint: Pair.Endpoint) -> PostgresQuery {
        switch endpoint.platform {
        case .telegram:
            "SELECT 1 FROM telegram_accounts WHERE id = \(endpoint.accountID) AND user_id = \(userID)"
        case .discord:
            "SELECT 1 FROM discord_accounts WHERE id = \(endpoint.accountID) AND user_id = \(userID)"
        }
    }
}
