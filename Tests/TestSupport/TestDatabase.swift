import Foundation
import Logging
import PostgresNIO
import Store
import Testing

/// A migrated database of its own for one suite, on the PostgreSQL that scripts/test started
/// (`AFX_TEST_DATABASE_URL`).
public struct TestDatabase: Sendable {
    @TaskLocal public static var current: TestDatabase?

    public let url: DatabaseURL

    public init(url: DatabaseURL) {
        self.url = url
    }

    public static var serverURL: DatabaseURL {
        get throws {
            guard let text = ProcessInfo.processInfo.environment["AFX_TEST_DATABASE_URL"] else {
                throw ShellError(description: "AFX_TEST_DATABASE_URL is not set: run the tests with scripts/test")
            }
            return try DatabaseURL(parsing: text)
        }
    }

    /// Creates `name` on the server `server` and applies every migration.
    public static func create(on server: DatabaseURL, prefix: String = "afx_test") async throws -> TestDatabase {
        let name = "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await Self.withClient(server) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        var url = server
        url.database = name
        try await Self.withClient(url) { client in
            try await Migrator().migrate(client, logger: Logger(label: "test.migrate"))
        }
        return TestDatabase(url: url)
    }

    public func drop() async {
        var admin = url
        admin.database = "postgres"
        _ = try? await Self.withClient(admin) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(url.database) WITH (FORCE)"))
        }
    }

    /// Runs `body` with a PostgresClient to this database, running for the body's duration.
    @discardableResult
    public func withClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        try await Self.withClient(url, body)
    }

    @discardableResult
    public static func withClient<T: Sendable>(
        _ url: DatabaseURL, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        try await withClient(configuration: url.clientConfiguration(applicationName: "afx-test"), body)
    }

    /// The same, for a client configured by the caller.
    @discardableResult
    public static func withClient<T: Sendable>(
        configuration: PostgresClient.Configuration, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

/// `@Suite(.database)`: the suite's tests share one fresh, migrated database.
public struct DatabaseTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let database = try await TestDatabase.create(on: TestDatabase.serverURL)
        do {
            try await TestDatabase.$current.withValue(database) {
                try await function()
            }
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }
}

extension Trait where Self == DatabaseTrait {
    public static var database: DatabaseTrait { DatabaseTrait() }
}

extension TestDatabase {
    /// The suite's database; fails the test clearly when the suite lacks `.database`.
    public static var required: TestDatabase {
        get throws {
            guard let current else {
                throw ShellError(description: "this test needs @Suite(.database)")
            }
            return current
        }
    }
}
