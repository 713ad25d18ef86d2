import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Store

struct BenchAnalyticsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "Analytics reports over a large delivery log, from the rollups and straight from the log.",
        discussion: """
            Fills message_logs with --rows rows over 30 days (--users users, 10 pairs each), rolls them up, then \
            times the reports the API serves (a user's 30 days by hour, one pair's 30 days by hour, everyone's 30 \
            days by day), and the same questions asked of message_logs directly for comparison.
            """)

    @Option(help: "Delivery log rows.") var rows = 3_000_000
    @Option(help: "Users (10 pairs each).") var users = 100
    @Option(help: "Times each report runs.") var repeats = 20
    @Flag(help: "Print one JSON object at the end.") var json = false

    func run() async throws {
        var logger = Logger(label: "afx.bench")
        logger.logLevel = .warning
        let database = try await BenchDatabase.make(logger: logger)
        var result: [String: Any] = ["rows": rows]
        do {
            try await BenchDatabase.withClient(database.url) { client in
                try await fill(client)
                let analytics = AnalyticsRepository(client: client, logger: logger)
                let progress = Progress(label: "rollup")
                let start = ContinuousClock.now
                while let done = try await analytics.rollUp(settle: .zero), done > 0 {
                    progress.update("\(done) rows folded")
                }
                let rollup = (ContinuousClock.now - start).secondsDouble
                progress.finish(String(format: "%.1f s", rollup))
                result["rollup_rows_per_s"] = round1(Double(rows) / rollup)

                let to = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.up) * 3600)
                let from = to.addingTimeInterval(-30 * 86400)
                let user = Int64(users / 2)
                let pair = try await client.query(
                    "SELECT min(id) FROM forwarding_pairs WHERE user_id = \(user)"
                ).collect().first!.decode(Int64.self)
                result["report_user_hourly_ms"] = try await time("user, 30 days by hour") {
                    _ = try await analytics.report(scope: .init(userID: user), from: from, to: to, granularity: .hour)
                }
                result["report_pair_hourly_ms"] = try await time("pair, 30 days by hour") {
                    _ = try await analytics.report(
                        scope: .init(userID: user, pairID: pair), from: from, to: to, granularity: .hour)
                }
                result["report_everyone_daily_ms"] = try await time("everyone, 30 days by day") {
                    _ = try await analytics.report(scope: .init(), from: from, to: to, granularity: .day)
                }
                result["raw_user_hourly_ms"] = try await time("same user question of message_logs") {
                    _ = try await client.query(
                        """
                        SELECT date_trunc('hour', created_at, 'UTC'), count(*) FILTER (WHERE outcome = 'delivered'),
                            percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms)
                        FROM message_logs WHERE user_id = \(user) AND created_at >= \(from) AND created_at < \(to)
                        GROUP BY 1
                        """
                    ).collect()
                }
                result["raw_everyone_daily_ms"] = try await time("same everyone question of message_logs") {
                    _ = try await client.query(
                        """
                        SELECT date_trunc('day', created_at, 'UTC'), count(*) FILTER (WHERE outcome = 'delivered'),
                            percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms)
                        FROM message_logs WHERE created_at >= \(from) AND created_at < \(to) GROUP BY 1
                        """
                    ).collect()
                }
            }
        } catch {
            await database.tearDown()
            throw error
        }
        await database.tearDown()
        try printFigures(result, json: json)
    }

    /// Users, one bot each, 10 pairs each, and `rows` log rows spread evenly over 30 days.
    private func fill(_ client: PostgresClient) async throws {
        let progress = Progress(label: "filling message_logs")
        try await client.query(
            """
            INSERT INTO users (email, plan)
            SELECT 'bench' || g || '@example.test', 'elite' FROM generate_series(1, \(Int64(users))) g
            """)
        try await client.query(
            """
            INSERT INTO telegram_accounts (user_id, bot_user_id, token_ciphertext)
            SELECT id, 1000000 + id, '\\x00' FROM users
            """)
        try await client.query(
            """
            INSERT INTO forwarding_pairs (user_id, source_platform, source_telegram_account_id, source_chat_id,
                dest_platform, dest_telegram_account_id, dest_chat_id)
            SELECT a.user_id, 'telegram', a.id, -a.id, 'telegram', a.id, g FROM telegram_accounts a, generate_series(1, 10) g
            """)
        let chunk = 250_000
        var written = 0
        while written < rows {
            let count = min(chunk, rows - written)
            try await client.query(
                """
                INSERT INTO message_logs (user_id, pair_id, event, outcome, latency_ms, created_at)
                SELECT p.user_id, p.id, 'create',
                    CASE WHEN g % 50 = 0 THEN 'failed' WHEN g % 20 = 0 THEN 'filtered' ELSE 'delivered' END,
                    (random() * random() * 2000)::int,
                    now() - (g::float8 / \(Int64(rows)) * 30 * 86400) * interval '1 second'
                FROM generate_series(\(Int64(written + 1)), \(Int64(written + count))) g
                JOIN forwarding_pairs p ON p.id = 1 + (g * 7919) % (SELECT count(*) FROM forwarding_pairs)
                """)
            written += count
            progress.update("\(written) of \(rows)")
        }
        try await client.query("ANALYZE")
        progress.finish("\(rows) rows")
    }

    /// p50 and p99 of `repeats` runs, in ms.
    private func time(_ label: String, _ body: () async throws -> Void) async throws -> [String: Double] {
        let recorder = LatencyRecorder()
        let progress = Progress(label: label)
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            try await body()
            recorder.record((ContinuousClock.now - start).secondsDouble * 1000)
        }
        let figures = ["p50": round2(recorder.percentile(50)), "p99": round2(recorder.percentile(99))]
        progress.finish("p50 \(figures["p50"]!) ms, p99 \(figures["p99"]!) ms")
        return figures
    }
}
