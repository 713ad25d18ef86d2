import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

/// `afx` as a user runs it: a real process, real signals.
@Suite(.database, .timeLimit(.minutes(3))) struct ProcessLifecycleTests {
    func environment(_ extra: [String: String] = [:]) async throws -> [String: String] {
        let database = try TestDatabase.required.url
        let certificates = try await TestCertificates.shared()
        var environment = [
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL":
                "postgres://\(database.username)@\(database.host):\(database.port)/\(database.database)?sslmode=disable",
            "AFX_ENVIRONMENT": "development",
            "AFX_SERVER_HOST": "127.0.0.1",
            "AFX_SERVER_CERTIFICATE": certificates.certificatePath,
            "AFX_SERVER_PRIVATE_KEY": certificates.privateKeyPath,
            "AFX_SERVER_DEBUG_ROUTES": "true",
            "AFX_LOG_LEVEL": "info",
        ]
        environment.merge(extra) { $1 }
        return environment
    }

    @Test func aMalformedSettingStopsStartUpWithOneLine() async throws {
        let result = try await runProcess(
            RepoPaths.afxBinary, ["serve"],
            environment: try await environment(["AFX_SERVER_SHUTDOWN_TIMEOUT": "forever"]),
            check: false)
        #expect(result.status == 78)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(
            lines.first?.hasPrefix("afx: configuration error: server.shutdownTimeout (AFX_SERVER_SHUTDOWN_TIMEOUT)")
                == true)
    }

    @Test func configCheckMasksSecrets() async throws {
        let secret = "this-jwt-secret-must-never-be-printed-0123456789"
        let result = try await runProcess(
            RepoPaths.afxBinary, ["config", "check"],
            environment: try await environment(["AFX_JWT_SECRET": secret, "AFX_DATABASE_PASSWORD": "pg-password-123"]))
        #expect(result.stdout.contains("jwtSecret"))
        #expect(!result.stdout.contains(secret))
        #expect(!result.stdout.contains("pg-password-123"))
        #expect(result.stdout.contains("server.port"))
    }

    /// Starts `afx serve` on a port the kernel picks (a port chosen beforehand could be taken in
    /// between by any connection the suite opens) and returns it with the port it listens on.
    func serve(_ extra: [String: String] = [:]) async throws -> (ChildProcess, port: Int) {
        let child = try ChildProcess(
            RepoPaths.afxBinary, ["serve", "--port", "0"], environment: try await environment(extra))
        try #require(await child.waitForOutput("listening", timeout: .seconds(30)), "\(child.report)")
        let output = child.output
        let match = try #require((output.stderr + output.stdout).firstMatch(of: /url=https:\/\/[^ ]+:(\d+)/))
        return (child, try #require(Int(match.1)))
    }

    @Test func aPortInUseStopsStartUpWithAClearError() async throws {
        let (first, port) = try await serve()
        let second = try await runProcess(
            RepoPaths.afxBinary, ["serve", "--port", "\(port)"], environment: try await environment(), check: false)
        #expect(second.status == 78, "\(second.stderr)")
        #expect(
            second.stderr.split(separator: "\n").last
                == "afx: configuration error: server.port (AFX_SERVER_PORT): 127.0.0.1:\(port) is already in use by another process"
        )
        first.signal(SIGTERM)
        #expect(await first.waitForExit(timeout: .seconds(15)) == 0, "\(first.report)")
    }

    @Test func sigtermDrainsInFlightRequestsAndExitsZero() async throws {
        let (child, port) = try await serve(["AFX_SERVER_SHUTDOWN_TIMEOUT": "10s"])
        let certificates = try await TestCertificates.shared()
        let client = HTTPClient(configuration: try .testClient(trusting: certificates.caPath))
        let base = "https://localhost:\(port)"
        #expect(try await client.send(.GET, "\(base)/readyz").status == 200)

        // A request that is still running when SIGTERM arrives…
        async let slow = client.send(.GET, "\(base)/debug/sleep?ms=1500")
        try await Task.sleep(for: .milliseconds(400))
        child.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        // …new connections are refused meanwhile…
        let fresh = HTTPClient(configuration: try .testClient(trusting: certificates.caPath))
        await #expect(throws: (any Error).self) { _ = try await fresh.send(.GET, "\(base)/healthz") }
        try await fresh.shutdown()
        // …and the running one still completes.
        let response = try await slow
        #expect(response.status == 200)
        #expect(response.body == "slept 1500 ms\n")
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "\(child.report)")
        try await client.shutdown()
    }
}
