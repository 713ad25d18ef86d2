import Foundation
import Logging
import PostgresNIO

/// One numbered plain-SQL migration shipped in `Sources/Store/Migrations`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// What the database holds compared with the migrations this build ships.
public struct MigrationStatus: Sendable {
    public let applied: [Int]
    public let pending: [Migration]
    /// Versions recorded in the database that this build does not know (a newer build migrated it).
    public let unknown: [Int]
    public var isCurrent: Bool { pending.isEmpty }
}

public struct MigrationError: Error, CustomStringConvertible {
    public let description: String
}

/// Applies migrations in order, each in its own transaction, under an advisory lock so that
/// concurrent migrators (several instances starting at once) take turns and the later ones find
/// nothing to do.
public struct Migrator: Sendable {
    /// "afx_migr" as a 64-bit key for `pg_advisory_lock`.
    static let lockKey: Int64 = 0x6166_785F_6D69_6772

    public let migrations: [Migration]

    public init(migrations: [Migration] = Migrator.bundled) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    public static let bundled: [Migration] = {
        do {
            return try loadMigrations(from: migrationsDirectory())
        } catch {
            fatalError("The migrations bundled with afx cannot be read: \(error)")
        }
    }()

    static func migrationsDirectory() throws -> URL {
        guard let url = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError(description: "the Migrations folder is missing from the Store resource bundle")
        }
        return url
    }

    /// Reads `NNNN_name.sql` files; anything else in the folder is an error, so a misnamed file
    /// cannot be skipped silently.
    public static func loadMigrations(from directory: URL) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var seen = Set<Int>()
        return try names.map { file in
            let parts = file.split(separator: "_", maxSplits: 1)
            guard file.hasSuffix(".sql"), parts.count == 2, parts[0].count == 4, let version = Int(parts[0]) else {
                throw MigrationError(description: "migration file \(file) is not named NNNN_name.sql")
            }
            guard seen.insert(version).inserted else {
                throw MigrationError(description: "two migrations share version \(version)")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: String(parts[1].dropLast(4)), sql: sql)
        }
    }

    public func status(_ client: PostgresClient, logger: Logger) async throws -> MigrationStatus {
        try await client.withConnection { connection in
            try await self.status(on: connection, logger: logger)
        }
    }

    func status(on connection: PostgresConnection, logger: Logger) async throws -> MigrationStatus {
        let exists =
            try await connection.query(
                "SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger
            ).collect().first?.decode(Bool.self) ?? false
        var recorded: [Int: String] = [:]
        if exists {
            let rows = try await connection.query(
                "SELECT version, checksum FROM schema_migrations ORDER BY version", logger: logger)
            for try await (version, checksum) in rows.decode((Int, String).self) {
                recorded[version] = checksum
            }
        }
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, checksum) in recorded {
            if let migration = known[version], checksum != Self.checksum(migration.sql) {
                throw MigrationError(
                    description:
                        "migration \(version)_\(migration.name) was changed after it was applied; add a new migration instead of editing an applied one"
                )
            }
        }
        return MigrationStatus(
            applied: recorded.keys.sorted(),
            pending: migrations.filter { recorded[$0.version] == nil },
            unknown: recorded.keys.filter { known[$0] == nil }.sorted()
        )
    }

    /// Applies every pending migration; returns the ones this call applied.
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Migration] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let applied = try await self.applyPending(on: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return applied
            } catch {
                // The session lock must not outlive a failure on a pooled connection.
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    private func applyPending(on connection: PostgresConnection, logger: Logger) async throws -> [Migration] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        let status = try await self.status(on: connection, logger: logger)
        for migration in status.pending {
            logger.info("applying migration", metadata: ["migration": "\(migration.version)_\(migration.name)"])
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(Self.checksum(migration.sql)))
                    """, logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw MigrationError(
                    description: "migration \(migration.version)_\(migration.name) failed: \(String(reflecting: error))"
                )
            }
        }
        return status.pending
    }

    /// FNV-1a over the UTF-8 bytes: enough to notice an edited migration, no crypto dependency.
    static func checksum(_ sql: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
