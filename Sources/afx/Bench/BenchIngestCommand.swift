import ArgumentParser
import Foundation
import Gateway
import Logging
import PostgresNIO
import Store

struct BenchIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract:
            "Webhook ingest: signed Telegram updates over HTTPS, each durably stored with its route job before its 200.",
        discussion:
            "Starts the gateway in-process (workers off, so only ingest is measured) and drives it with wrk from a second process: 64 connections, a unique update_id per request across 100 chats. Installs wrk with apt-get when it is missing."
    )

    @Option(help: "Concurrent connections.") var connections = 64
    @Option(help: "Seconds of load.") var seconds = 15
    @Option(help: "wrk threads.") var threads = 2
    @Flag(help: "Print one JSON object at the end.") var json = false

    func run() async throws {
        var logger = Logger(label: "afx.bench")
        logger.logLevel = .warning
        let wrk = try await ensureWrk()
        let database = try await BenchDatabase.make(logger: logger)
        var result: [String: Any] = [:]
        do {
            let config = try await BenchApp.config(database: database.url) { $0.jobs.enabled = false }
            let secret = "bench-secret-0123456789"
            let seeded = try await BenchDatabase.withClient(database.url) { client in
                try await BenchApp.seedTelegramBot(
                    client: client, cipher: CredentialCipher(key: config.secrets.encryptionKey!.value),
                    token: "424242:AAbenchbenchbenchbenchbenchbenchbe", botUserID: 424242, secret: secret)
            }
            let figures = try await BenchApp.run(config) { app -> (WrkOutput, Int) in
                let script = try writeScript(secret: secret)
                let url = "https://127.0.0.1:\(app.port)/telegram/\(seeded.accountID)/webhook"
                let progress = Progress(label: "ingest")
                progress.update("wrk -t\(threads) -c\(connections) -d\(seconds)s \(url)")
                let output = try await BenchDatabase.shell([
                    "-c", "\(wrk) -t\(threads) -c\(connections) -d\(seconds)s --latency -s \(script) \(url)",
                ])
                let parsed = WrkOutput(output)
                let stored = try await BenchDatabase.withClient(database.url) { client in
                    try await client.query("SELECT count(*)::int FROM inbound_events").collect().first!.decode(Int.self)
                }
                progress.finish(
                    "\(parsed.requests) requests, \(Int(parsed.requestsPerSecond)) req/s, p50 \(parsed.p50) ms, p99 \(parsed.p99) ms, \(parsed.errors) errors, \(stored) stored"
                )
                if stored != parsed.requests - parsed.errors {
                    FileHandle.standardError.write(
                        Data(
                            "note: \(stored) updates stored for \(parsed.requests - parsed.errors) acknowledged (wrk counts requests cut off at the end)\n"
                                .utf8))
                }
                return (parsed, stored)
            }
            result = [
                "req_per_s": round1(figures.0.requestsPerSecond),
                "latency_ms": ["p50": round2(figures.0.p50), "p99": round2(figures.0.p99)],
                "errors": figures.0.errors, "requests": figures.0.requests, "stored": figures.1,
                "connections": connections,
            ]
        } catch {
            await database.tearDown()
            throw error
        }
        await database.tearDown()
        try printFigures(result, json: json)
    }

    func ensureWrk() async throws -> String {
        for path in ["/usr/bin/wrk", "/usr/local/bin/wrk"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        FileHandle.standardError.write(Data("installing wrk with apt-get\n".utf8))
        _ = try await BenchDatabase.shell([
            "-c",
            "apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null",
        ])
        return "/usr/bin/wrk"
    }

    /// Each wrk thread numbers its requests in its own range, so every update_id is unique.
    func writeScript(secret: String) throws -> String {
        let path = ".data/bench-ingest.lua"
        let script = """
            local counter = 0
            local base = 0
            function setup(thread)
              thread:set("base", math.random(1, 1000) * 100000000)
            end
            function init(args)
              base = tonumber(wrk.thread:get("base")) or 0
            end
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = "\(secret)"
            function request()
              counter = counter + 1
              local id = base + counter
              local chat = -1001000000000 - (counter % 100)
              local body = string.format('{"update_id":%d,"message":{"message_id":%d,"from":{"id":7,"is_bot":false,"first_name":"Ada","username":"ada"},"chat":{"id":%d,"type":"supergroup","title":"Bench chat"},"date":1700000000,"text":"Hello *world*, this is message %d with a link https://example.com and some more text to reach a typical size.","entities":[{"type":"bold","offset":0,"length":5},{"type":"url","offset":50,"length":19}]}}', id, counter, chat, counter)
              return wrk.format(nil, nil, nil, body)
            end
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// The figures of wrk's `--latency` report.
struct WrkOutput: Sendable {
    var requests = 0
    var requestsPerSecond = 0.0
    var p50 = 0.0
    var p99 = 0.0
    var errors = 0

    init(_ text: String) {
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if line.hasPrefix("Requests/sec:"), let value = fields.last.flatMap(Double.init) {
                requestsPerSecond = value
            }
            if line.hasPrefix("50%"), fields.count > 1 { p50 = Self.milliseconds(fields[1]) }
            if line.hasPrefix("99%"), fields.count > 1 { p99 = Self.milliseconds(fields[1]) }
            if line.contains("requests in"), let first = fields.first.flatMap(Int.init) { requests = first }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let value = fields.last.flatMap(Int.init) {
                errors += value
            }
            if line.hasPrefix("Socket errors:") {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                errors += line.split(separator: ",").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
                    .reduce(0, +)
            }
        }
    }

    static func milliseconds(_ text: String) -> Double {
        for (suffix, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(suffix) {
            return (Double(text.dropLast(suffix.count)) ?? 0) * factor
        }
        return Double(text) ?? 0
    }
}
