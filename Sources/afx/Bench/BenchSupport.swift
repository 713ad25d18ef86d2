import Foundation
import Logging
import PostgresNIO
import Store
import Synchronization

/// A database for one benchmark run: on `DATABASE_URL`'s server when set, else on a local
/// PostgreSQL started like scripts/run does (durable settings, so the figures are honest).
struct BenchDatabase {
    let url: DatabaseURL
    private let ownCluster: URL?
    private let adminURL: DatabaseURL

    static func make(logger: Logger) async throws -> BenchDatabase {
        var server: DatabaseURL
        var ownCluster: URL?
        if let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty {
            server = try DatabaseURL(parsing: text)
        } else {
            let directory = URL(fileURLWithPath: ".data/bench-pg-\(ProcessInfo.processInfo.processIdentifier)")
            try FileManager.default.createDirectory(atPath: ".data", withIntermediateDirectories: true)
            let port = try await shell(["scripts/lib/pg.sh", "free-port"]).trimmingCharacters(
                in: .whitespacesAndNewlines)
            FileHandle.standardError.write(Data("starting a local PostgreSQL for the benchmark on port \(port)\n".utf8))
            _ = try await shell(["scripts/lib/pg.sh", "init", directory.path])
            _ = try await shell(["scripts/lib/pg.sh", "start", directory.path, port])
            ownCluster = directory
            server = DatabaseURL(
                host: "127.0.0.1", port: Int(port)!, username: "afx", database: "postgres", tlsMode: .disable)
        }
        let admin = server
        let name = "afx_bench_\(Int(Date().timeIntervalSince1970))_\(ProcessInfo.processInfo.processIdentifier)"
        try await withClient(admin) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        var url = server
        url.database = name
        try await withClient(url) { client in
            try await Migrator().migrate(client, logger: logger)
        }
        return BenchDatabase(url: url, ownCluster: ownCluster, adminURL: admin)
    }

    func tearDown() async {
        _ = try? await Self.withClient(adminURL) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(url.database) WITH (FORCE)"))
        }
        if let ownCluster {
            _ = try? await Self.shell(["scripts/lib/pg.sh", "stop", ownCluster.path])
            try? FileManager.default.removeItem(at: ownCluster)
        }
    }

    @discardableResult
    static func withClient<T: Sendable>(_ url: DatabaseURL, _ body: (PostgresClient) async throws -> T) async throws
        -> T
    {
        let client = PostgresClient(configuration: url.clientConfiguration(applicationName: "afx-bench"))
        return try await withRunningClient(client) { try await body(client) }
    }

    /// Runs bash with `arguments` and returns its standard output. The wait happens on a thread
    /// of its own: the async threads are the event loops (see main.swift) and must not block.
    static func shell(_ arguments: [String]) async throws -> String {
        try await run(executable: "/bin/bash", arguments)
    }

    /// Runs a program and returns its standard output, waiting on a thread of its own.
    static func run(executable: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(executable: executable, arguments) })
            }
        }
    }

    private static func runBlocking(executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("afx-bench-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(arguments.joined(separator: " ")) failed (run afx bench from the repository root)")
        }
        return String(decoding: try Data(contentsOf: output), as: UTF8.self)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Latency samples in milliseconds.
final class LatencyRecorder: Sendable {
    private let samples = Mutex<[Double]>([])

    func record(_ milliseconds: Double) {
        samples.withLock { $0.append(milliseconds) }
    }

    var count: Int { samples.withLock { $0.count } }

    func percentile(_ p: Double) -> Double {
        let sorted = samples.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[index]
    }
}

/// A line on stderr rewritten in place while a phase runs.
struct Progress {
    let label: String
    let start = ContinuousClock.now

    func update(_ text: String) {
        let elapsed = (ContinuousClock.now - start).secondsDouble
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label): \(text) (\(String(format: "%.1f", elapsed))s)".utf8))
    }

    func finish(_ text: String) {
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label): \(text)\n".utf8))
    }
}

extension Duration {
    var secondsDouble: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }
func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }

/// A benchmark's figures: one JSON object (keys sorted) with `--json`, else a line per key.
func printFigures(_ result: [String: Any], json: Bool) throws {
    if json {
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        for key in result.keys.sorted() { print("\(key): \(result[key]!)") }
    }
}
