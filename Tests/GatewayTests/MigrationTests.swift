import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct MigrationTests {
    let logger = Logger(label: "test.migrations")

    /// A database with nothing in it, not the suite trait's migrated one.
    func emptyDatabase() async throws -> TestDatabase {
        let server = try TestDatabase.serverURL
        let name = "afx_mig_\(UInt32.random(in: 0...UInt32.max))"
        try await TestDatabase.withClient(server) {
            try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        var url = server
        url.database = name
        return TestDatabase(url: url)
    }

    @Test func migratesAFreshDatabaseAndRerunningIsANoOp() async throws {
        let database = try await emptyDatabase()
        defer { Task { await database.drop() } }
        try await database.withClient { client in
            let migrator = Migrator()
            #expect(try await migrator.status(client, logger: logger).pending.count == migrator.migrations.count)
            let applied = try await migrator.migrate(client, logger: logger)
            #expect(applied.map(\.version) == migrator.migrations.map(\.version))
            #expect(try await migrator.migrate(client, logger: logger).isEmpty)
            let status = try await migrator.status(client, logger: logger)
            #expect(status.isCurrent)
            #expect(status.applied == migrator.migrations.map(\.version))
        }
    }

    @Test func everyTableOfTheDesignExists() async throws {
        let database = try await TestDatabase.create(on: TestDatabase.serverURL)
        defer { Task { await database.drop() } }
        let expected: Set<String> = [
            "users", "telegram_accounts", "discord_accounts", "forwarding_pairs", "payments", "coupons", "api_keys",
            "webhooks", "session_tokens", "system_settings", "error_logs", "message_logs", "jobs", "message_links",
            "inbound_events", "webhook_deliveries", "schema_migrations",
        ]
        let tables = try await database.withClient { client in
            var names = Set<String>()
            for try await name in try await client.query(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).decode(String.self) {
                names.insert(name)
            }
            return names
        }
        #expect(expected.isSubset(of: tables), "missing: \(expected.subtracting(tables))")
    }

    /// ANALYZE gathers no statistics on the stored payloads (nothing filters on them, and they
    /// were most of its cost), and still does on the other columns.
    @Test func analyzeSkipsTheStoredPayloads() async throws {
        let database = try await TestDatabase.create(on: TestDatabase.serverURL)
        defer { Task { await database.drop() } }
        let analyzed = try await database.withClient { client in
            try await client.query(
                """
                INSERT INTO jobs (kind, lane, payload)
                SELECT 'test.kind', 1, jsonb_build_object('n', g) FROM generate_series(1, 200) g
                """)
            try await client.query("ANALYZE jobs")
            var columns = Set<String>()
            for try await name in try await client.query(
                "SELECT attname::text FROM pg_stats WHERE schemaname = 'public' AND tablename = 'jobs'"
            ).decode(String.self) {
                columns.insert(name)
            }
            let targets = try await client.query(
                """
                SELECT attstattarget::int FROM pg_attribute
                WHERE attname = 'payload' AND attrelid IN ('jobs'::regclass, 'inbound_events'::regclass)
                """
            ).collect().map { try $0.decode(Int.self) }
            return (columns, targets)
        }
        #expect(analyzed.0.contains("kind"))
        #expect(!analyzed.0.contains("payload"))
        #expect(analyzed.1 == [0, 0])
    }

    @Test func twoConcurrentMigratorsApplyEachMigrationOnce() async throws {
        let database = try await emptyDatabase()
        defer { Task { await database.drop() } }
        let migrator = Migrator()
        // Two separate pools, as two starting instances would have.
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try await database.withClient { client in
                        try await migrator.migrate(client, logger: logger).map(\.version)
                    }
                }
            }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        // One of them did all the work; the other found nothing pending.
        #expect(results.sorted { $0.count < $1.count } == [[], migrator.migrations.map(\.version)])
        let recorded = try await database.withClient { client in
            try await client.query("SELECT count(*)::int, count(DISTINCT version)::int FROM schema_migrations")
                .collect().first!.decode((Int, Int).self)
        }
        #expect(recorded.0 == migrator.migrations.count)
        #expect(recorded.1 == migrator.migrations.count)
    }

    @Test func aFailingMigrationRollsBackAndIsNotRecorded() async throws {
        let database = try await emptyDatabase()
        defer { Task { await database.drop() } }
        let good = Migration(version: 1, name: "good", sql: "CREATE TABLE a (x int);")
        let bad = Migration(version: 2, name: "bad", sql: "CREATE TABLE b (x int); SELECT * FROM no_such_table;")
        try await database.withClient { client in
            await #expect(throws: MigrationError.self) {
                try await Migrator(migrations: [good, bad]).migrate(client, logger: logger)
            }
            let status = try await Migrator(migrations: [good, bad]).status(client, logger: logger)
            #expect(status.applied == [1])
            #expect(status.pending.map(\.version) == [2])
            // Table b was rolled back with its migration.
            let b = try await client.query("SELECT to_regclass('b') IS NULL").collect().first!.decode(Bool.self)
            #expect(b)
        }
    }

    @Test func anEditedAppliedMigrationIsReported() async throws {
        let database = try await emptyDatabase()
        defer { Task { await database.drop() } }
        try await database.withClient { client in
            try await Migrator(migrations: [Migration(version: 1, name: "a", sql: "CREATE TABLE a (x int);")])
                .migrate(client, logger: logger)
            let edited = Migrator(migrations: [Migration(version: 1, name: "a", sql: "CREATE TABLE a (y int);")])
            await #expect(throws: MigrationError.self) { try await edited.status(client, logger: logger) }
        }
    }

    @Test func theDryRunListsPendingAndExitsNonZero() async throws {
        let database = try await emptyDatabase()
        defer { Task { await database.drop() } }
        let url =
            "postgres://\(database.url.username)@\(database.url.host):\(database.url.port)/\(database.url.database)?sslmode=disable"
        let environment = ["DATABASE_URL": url, "AFX_ENVIRONMENT": "development", "PATH": "/usr/bin:/bin"]
        let dryRun = try await runProcess(
            RepoPaths.afxBinary, ["migrate", "--dry-run"], environment: environment, check: false)
        #expect(dryRun.status == 1)
        #expect(dryRun.stdout.contains("pending: 0001_accounts"))
        let migrate = try await runProcess(RepoPaths.afxBinary, ["migrate"], environment: environment, check: false)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let again = try await runProcess(
            RepoPaths.afxBinary, ["migrate", "--dry-run"], environment: environment, check: false)
        #expect(again.status == 0)
        #expect(again.stdout.contains("no pending migrations"))
    }
}
