import ArgumentParser
import Foundation
import Gateway
import Logging
import PostgresNIO
import Store

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations.",
        discussion:
            "Each migration runs in its own transaction under an advisory lock, so several instances may migrate at once. With --dry-run nothing is applied: it lists what is pending and exits 1 if anything is."
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "List pending migrations; exit 1 if there are any.")
    var dryRun = false

    func run() async throws {
        let config = try await options.load().config
        let logger = Logging.bootstrap(level: config.logLevel)
        guard let url = config.database.url else {
            throw Logging.fail("configuration error: database.url (DATABASE_URL): no database configured", code: 78)
        }
        let client = PostgresClient(configuration: url.clientConfiguration(applicationName: "afx-migrate"))
        let migrator = Migrator()
        let pending = try await withRunningClient(client) {
            if dryRun {
                return try await withDatabaseDeadline(.seconds(30)) {
                    try await migrator.status(client, logger: logger).pending
                }
            }
            let applied = try await migrator.migrate(client, logger: logger)
            print(applied.isEmpty ? "database is up to date" : "applied \(applied.count) migration(s)")
            return []
        }
        if dryRun {
            if pending.isEmpty {
                print("no pending migrations")
            } else {
                for migration in pending {
                    print("pending: \(String(format: "%04d", migration.version))_\(migration.name)")
                }
                throw ExitCode(1)
            }
        }
    }
}

/// Runs `body` with the clients' background tasks alive, then shuts them down.
func withRunningClient<T: Sendable>(_ clients: PostgresClient..., body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for client in clients { group.addTask { await client.run() } }
        defer { group.cancelAll() }
        do {
            return try await body()
        } catch let error where error.isDatabaseUnavailable {
            throw Logging.fail("the database is unreachable: \(error)")
        } catch let error as MigrationError {
            throw Logging.fail(error.description)
        }
    }
}
