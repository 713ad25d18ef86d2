import Foundation
import NIOHTTP1
import Store
import TestSupport
import Testing

@testable import Gateway

@Suite(.database, .timeLimit(.minutes(3))) struct PairsAPITests {
    @Test func theFreePlanIsEnforcedWithMessagesNamingTheLimitAndThePlanThatLiftsIt() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("free@example.test")
            let bot = try await app.linkTelegram(user, bot: 9001)
            let webhook = try await app.linkDiscordWebhook(user, name: "general")

            let first = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -100), destination: ("telegram", bot, -101)))
            #expect(first.status == 201, "\(first.body)")
            #expect(first.header("Location") == "/v1/pairs/\(try first.json().int("id") ?? 0)")

            let toDiscord = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -100), destination: ("discord", webhook, 555)))
            #expect(toDiscord.status == 403)
            #expect(try toDiscord.errorCode() == "plan_limit")
            #expect(
                try toDiscord.errorMessage()
                    == "the Free plan does not forward Telegram to Discord; upgrade to Pro to lift this limit")

            let keywords = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(
                    source: ("telegram", bot, -100), destination: ("telegram", bot, -102),
                    extra: ["options": ["includeKeywords": ["sale"]]]))
            #expect(keywords.status == 403)
            #expect(try keywords.errorMessage()?.contains("upgrade to Pro") == true)

            let delayed = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(
                    source: ("telegram", bot, -100), destination: ("telegram", bot, -102),
                    extra: ["delaySeconds": 30]))
            #expect(delayed.status == 403)
            #expect(try delayed.errorMessage()?.contains("at most 0 s") == true)

            let second = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -100), destination: ("telegram", bot, -102)))
            #expect(second.status == 201)
            let third = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -100), destination: ("telegram", bot, -103)))
            #expect(third.status == 403)
            #expect(
                try third.errorMessage()
                    == "the Free plan allows 2 forwarding pairs; upgrade to Pro to lift this limit")
            #expect(try await PairRepository(client: app.app.postgres).counts(userID: user.id).all == 2)
        }
    }

    @Test func concurrentCreatesCannotExceedThePlan() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("race@example.test")
            let bot = try await app.linkTelegram(user, bot: 9002)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for chat in 0..<8 {
                    group.addTask {
                        try await app.api(
                            .POST, "/v1/pairs", token: user.accessToken,
                            json: pairJSON(source: ("telegram", bot, -200), destination: ("telegram", bot, Int64(chat)))
                        )
                        .status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 2)
            #expect(statuses.filter { $0 == 403 }.count == 6)
        }
    }

    @Test func validationOwnershipAndConflicts() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("valid@example.test", plan: "elite")
            let stranger = try await app.signUp("stranger@example.test", plan: "elite")
            let bot = try await app.linkTelegram(user, bot: 9003)
            let strangersBot = try await app.linkTelegram(stranger, bot: 9004)

            let notMine = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", strangersBot, -1), destination: ("telegram", bot, -2)))
            #expect(notMine.status == 422)
            #expect(try notMine.errorMessage()?.contains("not one of your linked accounts") == true)

            let itself = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -1), destination: ("telegram", bot, -1)))
            #expect(itself.status == 422)

            let badRegex = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(
                    source: ("telegram", bot, -1), destination: ("telegram", bot, -2),
                    extra: ["options": ["regexReplacements": [["pattern": "(unclosed", "replacement": ""]]]]))
            #expect(badRegex.status == 422)
            #expect(
                try badRegex.errorMessage() == "options.regexReplacements[0].pattern: not a valid regular expression")

            let badPlatform = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("myspace", bot, -1), destination: ("telegram", bot, -2)))
            #expect(badPlatform.status == 400)

            let created = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -1), destination: ("telegram", bot, -2)))
            #expect(created.status == 201)
            let id = try #require(try created.json().int("id"))
            let duplicate = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -1), destination: ("telegram", bot, -2)))
            #expect(duplicate.status == 409)

            for method in [HTTPMethod.GET, .PATCH, .DELETE] {
                let response = try await app.api(
                    method, "/v1/pairs/\(id)", token: stranger.accessToken,
                    json: method == .PATCH ? ["name": "mine now"] : nil)
                #expect(response.status == 404, "\(method)")
            }
            #expect(try await app.api(.GET, "/v1/pairs/abc", token: user.accessToken).status == 404)

            let patched = try await app.api(
                .PATCH, "/v1/pairs/\(id)", token: user.accessToken,
                json: ["name": "News", "delaySeconds": 120, "options": ["stripLinks": true], "status": "paused"])
            #expect(patched.status == 200, "\(patched.body)")
            let pair = try patched.json()
            #expect(pair["name"] as? String == "News")
            #expect(pair.int("delaySeconds") == 120)
            #expect(pair["status"] as? String == "paused")
            #expect((pair["options"] as? [String: Any])?["stripLinks"] as? Bool == true)

            let tooLong = try await app.api(
                .PATCH, "/v1/pairs/\(id)", token: user.accessToken, json: ["delaySeconds": 90000])
            #expect(tooLong.status == 422)

            #expect(try await app.api(.DELETE, "/v1/pairs/\(id)", token: user.accessToken).status == 204)
            #expect(try await app.api(.GET, "/v1/pairs/\(id)", token: user.accessToken).status == 404)
        }
    }

    @Test func listingPagesAndFilters() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("pages@example.test", plan: "elite")
            let bot = try await app.linkTelegram(user, bot: 9005)
            let webhook = try await app.linkDiscordWebhook(user, name: "news")
            var ids: [Int64] = []
            for chat in 1...5 {
                let response = try await app.api(
                    .POST, "/v1/pairs", token: user.accessToken,
                    json: pairJSON(
                        source: ("telegram", bot, -300),
                        destination: chat == 5 ? ("discord", webhook, 777) : ("telegram", bot, Int64(chat))))
                ids.append(try #require(try response.json().int("id")))
            }
            var seen: [Int64] = []
            var cursor: String?
            var pages = 0
            repeat {
                let response = try await app.api(
                    .GET, "/v1/pairs?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: user.accessToken)
                #expect(response.status == 200)
                seen += try response.items().compactMap { $0.int("id") }
                cursor = try response.json()["nextCursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == ids)
            #expect(pages == 3)

            let discord = try await app.api(.GET, "/v1/pairs?destinationPlatform=discord", token: user.accessToken)
            #expect(try discord.items().compactMap { $0.int("id") } == [ids[4]])
            let bad = try await app.api(.GET, "/v1/pairs?limit=0", token: user.accessToken)
            #expect(bad.status == 400)
            #expect(try bad.errorCode() == "invalid_parameter")
            let badStatus = try await app.api(.GET, "/v1/pairs?status=gone", token: user.accessToken)
            #expect(badStatus.status == 400)
        }
    }

    @Test func logsPageNewestFirstEvenWithinOneMicrosecond() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("logs@example.test", plan: "elite")
            let bot = try await app.linkTelegram(user, bot: 9007)
            let pair = try #require(
                try await app.api(
                    .POST, "/v1/pairs", token: user.accessToken,
                    json: pairJSON(source: ("telegram", bot, -900), destination: ("telegram", bot, 1))
                ).json().int("id"))
            let same = Date(timeIntervalSince1970: 1_790_000_000.123456)
            for index in 0..<5 {
                let time = index < 3 ? same : same.addingTimeInterval(Double(index))
                try await app.app.postgres.query(
                    """
                    INSERT INTO message_logs (user_id, pair_id, source_message_id, event, outcome, created_at)
                    VALUES (\(user.id), \(pair), \(Int64(index)), 'create', 'delivered', \(time))
                    """)
                try await app.app.postgres.query(
                    """
                    INSERT INTO error_logs (user_id, pair_id, source, code, message, created_at)
                    VALUES (\(user.id), \(pair), 'deliver', 'rejected', \("error \(index)"), \(time))
                    """)
            }
            for (path, key) in [("messages", "sourceMessageId"), ("errors", "message")] {
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let response = try await app.api(
                        .GET, "/v1/pairs/\(pair)/\(path)?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                        token: user.accessToken)
                    #expect(response.status == 200, "\(response.body)")
                    seen += try response.items().map { "\($0[key] ?? "")" }
                    cursor = try response.json()["nextCursor"] as? String
                } while cursor != nil && seen.count < 20
                let expected =
                    path == "messages" ? ["4", "3", "2", "1", "0"] : (0..<5).reversed().map { "error \($0)" }
                #expect(seen == expected, "\(path)")
            }
            let bad = try await app.api(.GET, "/v1/pairs/\(pair)/messages?cursor=zzz", token: user.accessToken)
            #expect(bad.status == 400)
        }
    }

    @Test func bulkActionsAndResumeWithinThePlan() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("bulk@example.test", plan: "pro")
            let bot = try await app.linkTelegram(user, bot: 9006)
            var ids: [Int64] = []
            for chat in 1...4 {
                let response = try await app.api(
                    .POST, "/v1/pairs", token: user.accessToken,
                    json: pairJSON(source: ("telegram", bot, -400), destination: ("telegram", bot, Int64(chat))))
                ids.append(try #require(try response.json().int("id")))
            }
            let paused = try await app.api(.POST, "/v1/pairs/bulk", token: user.accessToken, json: ["action": "pause"])
            #expect(paused.status == 200)
            #expect(try paused.json()["affected"] as? [Int] == ids.map(Int.init))
            let active = try await app.api(.GET, "/v1/pairs?status=active", token: user.accessToken)
            #expect(try active.items().isEmpty)

            let resumed = try await app.api(
                .POST, "/v1/pairs/bulk", token: user.accessToken, json: ["action": "resume", "ids": [ids[0], ids[1]]])
            #expect(try resumed.json()["affected"] as? [Int] == [Int(ids[0]), Int(ids[1])])

            let deleted = try await app.api(
                .POST, "/v1/pairs/bulk", token: user.accessToken, json: ["action": "delete", "ids": [ids[2], 999_999]])
            #expect(try deleted.json()["affected"] as? [Int] == [Int(ids[2])])
            let deleteAll = try await app.api(
                .POST, "/v1/pairs/bulk", token: user.accessToken, json: ["action": "delete"])
            #expect(deleteAll.status == 422)
            #expect(try await PairRepository(client: app.app.postgres).counts(userID: user.id) == (3, 2))

            // Down to Free (2 pairs): both active pairs fill it, so resuming the third is refused whole.
            _ = try await UserRepository(client: app.app.postgres).setPlan(id: user.id, plan: "free")
            let over = try await app.api(.POST, "/v1/pairs/bulk", token: user.accessToken, json: ["action": "resume"])
            #expect(over.status == 403)
            #expect(try over.errorCode() == "plan_limit")
            #expect(try await PairRepository(client: app.app.postgres).counts(userID: user.id).active == 2)
        }
    }
}
