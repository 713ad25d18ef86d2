import ArgumentParser
import Forwarding
import Foundation
import Gateway
import Logging
import NIOCore
import PlatformSimulators
import PostgresNIO
import Store

struct BenchE2ECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "End to end: Telegram updates into the webhook at a steady rate, out of the Discord simulator.",
        discussion:
            "Starts the gateway in-process with its workers and the Discord simulator on loopback. Each of --chats Telegram chats is paired with its own Discord webhook; every chat posts its share of --rate messages per second in order, one request at a time, like Telegram does. Latency is from just before the webhook POST to the moment the simulator stored the Discord message. Lost: acknowledged updates that never arrived; reordered: messages that arrived in a chat after a later one of the same chat."
    )

    @Option(help: "Messages per second, across all chats.") var rate = 1000
    @Option(help: "Seconds of load.") var seconds = 15
    @Option(help: "Source chats, each paired with its own Discord webhook.") var chats = 200
    // Unset, these are what `afx serve` ships with (jobs.concurrency, database.poolSize, jobs.fetchers).
    @Option(help: "Job workers in the gateway (default: its jobs.concurrency).") var concurrency: Int?
    @Option(help: "PostgreSQL connections of the gateway (default: its database.poolSize).") var connections: Int?
    @Option(help: "Claim loops sharing the workers (default: its jobs.fetchers).") var fetchers: Int?
    @Option(help: "Leading seconds left out of the latency figures (connections and caches warming up).")
    var warmup = 2.0
    @Option(
        help:
            "Also write one line per message to this file: its sequence number, then when it was sent, answered and delivered (-1: never), in seconds after the first send."
    )
    var times: String?
    @Flag(help: "Print one JSON object at the end.") var json = false

    func run() async throws {
        guard rate > 0, seconds > 0, chats > 0 else {
            throw ValidationError("rate, seconds and chats must be positive")
        }
        var logger = Logger(label: "afx.bench")
        logger.logLevel = .warning
        let discord = DiscordSimulator(servesGateway: false)
        let discordBase = try await discord.start()
        let database = try await BenchDatabase.make(logger: logger)
        var result: [String: Any] = [:]
        do {
            let config = try await BenchApp.config(database: database.url) { config in
                config.platforms.discordAPIURL = discordBase + "/api/v10"
                // Unused (nothing is sent to Telegram), but never the real API from a benchmark.
                config.platforms.telegramAPIURL = "http://127.0.0.1:9"
                config.jobs.concurrency = concurrency ?? config.jobs.concurrency
                config.jobs.fetchers = fetchers ?? config.jobs.fetchers
                config.database.poolSize = connections ?? AppConfig().database.poolSize
            }
            let secret = "bench-e2e-secret-0123456789"
            let cipher = CredentialCipher(key: config.secrets.encryptionKey!.value)
            let seeded = try await BenchDatabase.withClient(database.url) { client in
                let bot = try await BenchApp.seedTelegramBot(
                    client: client, cipher: cipher, token: "434343:AAbenchE2Ebenche2ebenche2ebench",
                    botUserID: 434343, secret: secret)
                let accounts = AccountRepository(client: client)
                let pairs = PairRepository(client: client)
                for chat in 0..<chats {
                    let channel = "\(990_000_000_000_000_000 + Int64(chat))"
                    let webhookID = "\(995_000_000_000_000_000 + Int64(chat))"
                    discord.addChannel(id: channel, guildID: "980000000000000001", name: "bench-\(chat)")
                    discord.addWebhook(id: webhookID, token: "bench-token-\(chat)", channelID: channel, name: "bench")
                    let url = "\(discordBase)/api/webhooks/\(webhookID)/bench-token-\(chat)"
                    let account = try await accounts.createDiscord(
                        userID: bot.userID, kind: "webhook", applicationID: nil, botUserID: nil, publicKey: nil,
                        username: "bench-\(chat)",
                        tokenCiphertext: try cipher.seal(url, context: CredentialCipher.Context.discordWebhook))
                    _ = try await pairs.create(
                        Pair(
                            id: 0, userID: bot.userID,
                            source: .init(platform: .telegram, accountID: bot.accountID, chatID: Self.chatID(chat)),
                            destination: .init(platform: .discord, accountID: account.id, chatID: Int64(channel)!)))
                }
                return bot
            }
            let figures = try await BenchApp.run(config) { app in
                try await drive(app: app, accountID: seeded.accountID, secret: secret, discord: discord)
            }
            result = figures.json
        } catch {
            await database.tearDown()
            await discord.stop()
            throw error
        }
        await database.tearDown()
        await discord.stop()
        try printFigures(result, json: json)
    }

    static func chatID(_ index: Int) -> Int64 { -1_002_000_000_000 - Int64(index) }
    static func channelID(_ index: Int) -> String { "\(990_000_000_000_000_000 + Int64(index))" }

    /// Sends the load, waits for the deliveries, and measures them.
    func drive(app: BenchApp, accountID: Int64, secret: String, discord: DiscordSimulator) async throws -> Figures {
        let url = "https://127.0.0.1:\(app.port)/telegram/\(accountID)/webhook"
        let timesPath = ".data/bench-e2e-send-\(ProcessInfo.processInfo.processIdentifier).txt"
        let progress = Progress(label: "e2e")
        // The simulator serves only this benchmark's channels; its count takes its lock briefly
        // (copying every channel's messages each second slowed its request handling).
        func delivered() -> Int { discord.createdMessageCount }
        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                progress.update("delivered \(delivered())")
            }
        }
        // The sender is a process of its own, like wrk for `bench ingest`: its TLS client must not
        // share the gateway's event loops.
        let start = ContinuousClock.now
        let output = try await BenchDatabase.run(
            executable: "/proc/self/exe",
            [
                "bench", "e2e-send", "--url", url, "--secret", secret, "--ca", app.caPath, "--rate", "\(rate)",
                "--seconds", "\(seconds)", "--chats", "\(chats)", "--out", timesPath,
            ])
        let sendSeconds = (ContinuousClock.now - start).secondsDouble
        let report = output.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard report.count == 2 else { throw BenchError("the sender reported \(output)") }
        let (acknowledged, sendErrors) = (report[0], report[1])
        // Wait for the deliveries: until everything acknowledged arrived, or 30 s without progress.
        var deliveredCount = 0
        var lastChange = ContinuousClock.now
        while true {
            let now = delivered()
            if now != deliveredCount { lastChange = .now }
            deliveredCount = now
            if deliveredCount >= acknowledged || ContinuousClock.now - lastChange > .seconds(30) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        reporter.cancel()
        var sendTimes = [Double](repeating: 0, count: chats * max(1, rate * seconds / chats))
        var ackTimes = sendTimes
        let timesText = try String(contentsOfFile: timesPath, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: timesPath)
        for line in timesText.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let sequence = Int(fields[0]), let at = Double(fields[1]),
                let acked = Double(fields[2]), sendTimes.indices.contains(sequence)
            else { continue }
            sendTimes[sequence] = at
            ackTimes[sequence] = acked
        }
        let firstSend = sendTimes.filter { $0 > 0 }.min() ?? 0
        let measuredFrom = firstSend + warmup
        // The webhook's own answer time: the part of the latency spent before the 200.
        let acks = LatencyRecorder()
        for (sent, acked) in zip(sendTimes, ackTimes) where sent >= measuredFrom && acked > 0 {
            acks.record((acked - sent) * 1000)
        }
        let latencies = LatencyRecorder()
        var reordered = 0
        var seen = Set<Int>()
        var firstDelivery = Double.infinity
        var lastDelivery = 0.0
        var arrivals = [Double](repeating: -1, count: sendTimes.count)
        for chat in 0..<chats {
            var previous = -1
            for message in discord.messages(inChannel: Self.channelID(chat)) {
                guard let sequence = Self.sequence(in: message.content) else { continue }
                seen.insert(sequence)
                if sequence < previous { reordered += 1 }
                previous = max(previous, sequence)
                let at = message.timestamp.timeIntervalSince1970
                arrivals[sequence] = at
                firstDelivery = min(firstDelivery, at)
                lastDelivery = max(lastDelivery, at)
                if sendTimes[sequence] >= measuredFrom { latencies.record((at - sendTimes[sequence]) * 1000) }
            }
        }
        if let times {
            try writeTimes(to: times, origin: firstSend, sendTimes: sendTimes, ackTimes: ackTimes, arrivals: arrivals)
        }
        let acked = acknowledged
        let lost = max(0, acked - seen.count)
        let throughput = seen.count > 1 ? Double(seen.count) / max(lastDelivery - firstDelivery, 0.001) : 0
        progress.finish(
            "\(acked) sent in \(String(format: "%.1f", sendSeconds)) s, \(seen.count) delivered, \(Int(throughput)) msgs/s, p50 \(round2(latencies.percentile(50))) ms, p99 \(round2(latencies.percentile(99))) ms, \(lost) lost, \(reordered) reordered, \(sendErrors) errors; webhook answered in p50 \(round2(acks.percentile(50))) ms, p99 \(round2(acks.percentile(99))) ms"
        )
        return Figures(
            throughput: throughput, p50: latencies.percentile(50), p99: latencies.percentile(99),
            ackP50: acks.percentile(50), ackP99: acks.percentile(99), lost: lost,
            reordered: reordered, sent: acked, delivered: seen.count, errors: sendErrors,
            rate: rate, chats: chats)
    }

    /// Per-message times for looking at a run's course (bursts, start-up), relative to the first send.
    func writeTimes(
        to path: String, origin: Double, sendTimes: [Double], ackTimes: [Double], arrivals: [Double]
    ) throws {
        func relative(_ time: Double) -> String { time > 0 ? String(format: "%.6f", time - origin) : "-1" }
        var lines =
            "# sequence sent answered delivered; seconds after the first send, at \(String(format: "%.6f", origin)) (Unix time)\n"
        for sequence in sendTimes.indices where sendTimes[sequence] > 0 {
            lines +=
                "\(sequence) \(relative(sendTimes[sequence])) \(relative(ackTimes[sequence])) \(relative(arrivals[sequence]))\n"
        }
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
    }

    struct Figures: Sendable {
        var throughput: Double
        var p50: Double
        var p99: Double
        var ackP50: Double
        var ackP99: Double
        var lost: Int
        var reordered: Int
        var sent: Int
        var delivered: Int
        var errors: Int
        var rate: Int
        var chats: Int

        var json: [String: Any] {
            [
                "msgs_per_s": round1(throughput), "latency_ms": ["p50": round2(p50), "p99": round2(p99)],
                "webhook_answer_ms": ["p50": round2(ackP50), "p99": round2(ackP99)],
                "lost": lost, "reordered": reordered, "sent": sent, "delivered": delivered, "errors": errors,
                "target_rate": rate, "chats": chats,
            ]
        }
    }

    static func update(sequence: Int, chat: Int) -> String {
        """
        {"update_id":\(sequence + 1),"message":{"message_id":\(sequence + 1),"from":{"id":7,"is_bot":false,"first_name":"Ada","username":"ada"},"chat":{"id":\(chatID(chat)),"type":"supergroup","title":"Bench \(chat)"},"date":\(Int(Date().timeIntervalSince1970)),"text":"seq \(sequence) Hello world, a message of a typical size with a link https://example.com","entities":[{"type":"bold","offset":0,"length":3}]}}
        """
    }

    static func sequence(in content: String) -> Int? {
        // "**seq** 123 Hello…"
        guard let range = content.range(of: "seq** ") else { return nil }
        return Int(content[range.upperBound...].prefix { $0.isNumber })
    }
}
