import Foundation
import Store

/// A private PostgreSQL server for tests that stop and start the database (the shared one from
/// scripts/test must stay up for every other test).
public final class PostgresCluster: Sendable {
    public let directory: URL
    public let port: Int

    public static func start() async throws -> PostgresCluster {
        let directory = try RepoPaths.scratchDirectory("pg")
        let script = RepoPaths.path("scripts/lib/pg.sh")
        try await runProcess("/bin/bash", [script, "init", directory.appendingPathComponent("cluster").path, "--fast"])
        let port = try await runProcess("/bin/bash", [script, "free-port"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let cluster = PostgresCluster(directory: directory, port: Int(port)!)
        try await cluster.startServer()
        return cluster
    }

    init(directory: URL, port: Int) {
        self.directory = directory
        self.port = port
    }

    public var url: DatabaseURL {
        DatabaseURL(host: "127.0.0.1", port: port, username: "afx", database: "postgres", tlsMode: .disable)
    }

    public func startServer() async throws {
        try await runProcess("/bin/bash", [RepoPaths.path("scripts/lib/pg.sh"), "start", clusterPath, String(port)])
    }

    public func stopServer() async throws {
        try await runProcess("/bin/bash", [RepoPaths.path("scripts/lib/pg.sh"), "stop", clusterPath])
    }

    public func destroy() async {
        _ = try? await stopServer()
        try? FileManager.default.removeItem(at: directory)
    }

    private var clusterPath: String { directory.appendingPathComponent("cluster").path }
}
