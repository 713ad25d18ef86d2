import Foundation
import PostgresNIO
import Store
import TestSupport
import Testing

@testable import Gateway

@Suite(.database, .timeLimit(.minutes(3))) struct AnalyticsAPITests {
    /// Writes delivery log rows `hoursAgo` hours before `hour`, as the deliver job would.
    func log(
        _ app: TestApp, user: APIUser, pair: Int64, at time: Date, outcome: String, latency: Int? = nil, count: Int = 1
    ) async throws {
        for _ in 0..<count {
            try await app.app.postgres.query(
                """
                INSERT INTO message_logs (user_id, pair_id, event, outcome, latency_ms, created_at)
                VALUES (\(user.id), \(pair), 'create', \(outcome), \(latency.map(Int32.init)), \(time))
                """)
        }
    }

    @Test func reportsCountRatesAndPercentilesWhetherRolledUpOrNot() async throws {
        // Rollups only when the test asks (the service would otherwise race the assertions).
        try await TestApp.with(configure: { $0.analytics.rollupInterval = .seconds(3600) }) { app in
            let user = try await app.signUp("stats@example.test", plan: "elite")
            let other = try await app.signUp("other@example.test", plan: "elite")
            let bot = try await app.linkTelegram(user, bot: 9300)
            let otherBot = try await app.linkTelegram(other, bot: 9301)
            var pairs: [Int64] = []
            for chat in [1, 2] as [Int64] {
                pairs.append(
                    try #require(
                        try await app.api(
                            .POST, "/v1/pairs", token: user.accessToken,
                            json: pairJSON(source: ("telegram", bot, -700), destination: ("telegram", bot, chat))
                        ).json().int("id")))
            }
            let otherPair = try #require(
                try await app.api(
                    .POST, "/v1/pairs", token: other.accessToken,
                    json: pairJSON(source: ("telegram", otherBot, -800), destination: ("telegram", otherBot, 1))
                ).json().int("id"))

            let hour = Self.floorHour(Date(timeIntervalSince1970: 1_790_000_000))
            let earlier = hour.addingTimeInterval(-3 * 3600 + 60)
            let later = hour.addingTimeInterval(-3600 + 120)
            try await log(app, user: user, pair: pairs[0], at: earlier, outcome: "delivered", latency: 3, count: 8)
            try await log(app, user: user, pair: pairs[0], at: earlier, outcome: "delivered", latency: 700)
            try await log(app, user: user, pair: pairs[0], at: earlier, outcome: "failed")
            try await log(app, user: user, pair: pairs[1], at: later, outcome: "delivered", latency: 15, count: 2)
            try await log(app, user: user, pair: pairs[1], at: later, outcome: "filtered")
            try await log(app, user: other, pair: otherPair, at: later, outcome: "delivered", latency: 40, count: 5)

            let range = "from=\(APIFormat.timestamp(hour.addingTimeInterval(-86400)))&to=\(APIFormat.timestamp(hour))"
            func report(_ path: String, token: String) async throws -> [String: Any] {
                let response = try await app.api(.GET, path, token: token)
                #expect(response.status == 200, "\(response.body)")
                return try response.json()
            }
            let before = try await report("/v1/analytics?\(range)", token: user.accessToken)
            let rolled = try #require(try await AnalyticsRepository(client: app.app.postgres).rollUp(settle: .zero))
            #expect(rolled == 18)
            let after = try await report("/v1/analytics?\(range)", token: user.accessToken)
            #expect(NSDictionary(dictionary: before).isEqual(to: after))

            let totals = try #require(after["totals"] as? [String: Any])
            #expect(totals.int("delivered") == 11)
            #expect(totals.int("failed") == 1)
            #expect(totals.int("filtered") == 1)
            #expect(totals["successRate"] as? Double == 0.9167)
            // 8 at 3 ms, 2 at 15 ms, 1 at 700 ms: the percentiles' buckets end at 5, 20 and 1000 ms.
            let latency = try #require(totals["latencyMs"] as? [String: Any])
            #expect(latency.int("p50") == 5)
            #expect(latency.int("p95") == 1000)
            let series = try #require(after["series"] as? [[String: Any]])
            #expect(
                series.map { $0["start"] as? String }
                    == [earlier, later].map { APIFormat.timestamp(Self.floorHour($0)) })
            #expect(series.map { $0.int("delivered") } == [9, 2])
            #expect(series[1]["successRate"] as? Double == 1)

            let onePair = try await report("/v1/pairs/\(pairs[1])/analytics?\(range)", token: user.accessToken)
            #expect((onePair["totals"] as? [String: Any])?.int("delivered") == 2)
            #expect(try await app.api(.GET, "/v1/pairs/\(otherPair)/analytics", token: user.accessToken).status == 404)

            let daily = try await report("/v1/analytics?\(range)&granularity=day", token: user.accessToken)
            #expect((daily["series"] as? [[String: Any]])?.count == 1)

            // Rows logged after the rollup are counted too, before the next one.
            try await log(app, user: user, pair: pairs[1], at: later, outcome: "failed", count: 3)
            let fresh = try await report("/v1/analytics?\(range)", token: user.accessToken)
            #expect((fresh["totals"] as? [String: Any])?.int("failed") == 4)

            let csv = try await app.api(.GET, "/v1/analytics?\(range)&format=csv", token: user.accessToken)
            #expect(csv.header("Content-Type") == "text/csv; charset=utf-8")
            let lines = csv.body.split(separator: "\r\n").map(String.init)
            #expect(
                lines.first
                    == "start,delivered,failed,filtered,success_rate,latency_p50_ms,latency_p95_ms,latency_p99_ms")
            #expect(lines.count == 3)
            #expect(lines[1] == "\(APIFormat.timestamp(Self.floorHour(earlier))),9,1,0,0.9,5,1000,1000")
            let accepted = try await app.api(
                .GET, "/v1/analytics?\(range)", token: user.accessToken, headers: [("Accept", "text/csv")])
            #expect(accepted.body == csv.body)

            let bad = try await app.api(.GET, "/v1/analytics?from=yesterday", token: user.accessToken)
            #expect(bad.status == 400)
            let tooLong = try await app.api(
                .GET,
                "/v1/analytics?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", token: user.accessToken)
            #expect(tooLong.status == 400)

            let admin = try await app.signUp("analyst@example.test", admin: true)
            let everyone = try await report("/v1/admin/analytics?\(range)", token: admin.accessToken)
            #expect((everyone["totals"] as? [String: Any])?.int("delivered") == 16)
        }
    }

    static func floorHour(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
    }
}
