import Foundation
import PlatformSimulators
import Store
import TestSupport
import Testing

@testable import Gateway

@Suite(.database, .timeLimit(.minutes(3))) struct AccountsAPITests {
    @Test func botsAreLinkedThroughThePlatformWithinThePlanAndTokensNeverComeBack() async throws {
        let telegram = TelegramSimulator()
        let token = "700101:AAaccounts_api_token_for_tests_01234"
        telegram.addBot(token: token, id: 700101, username: "api_linked_bot", firstName: "Linked")
        let secondToken = "700102:AAaccounts_api_token_for_tests_56789"
        telegram.addBot(token: secondToken, id: 700102, username: "second_bot", firstName: "Second")
        let thirdToken = "700103:AAaccounts_api_token_for_tests_abcde"
        telegram.addBot(token: thirdToken, id: 700103, username: "third_bot", firstName: "Third")
        let base = try await telegram.start()
        do {
            try await run(telegramAPI: base, token: token, secondToken: secondToken, thirdToken: thirdToken)
        } catch {
            await telegram.stop()
            throw error
        }
        await telegram.stop()
    }

    func run(telegramAPI base: String, token: String, secondToken: String, thirdToken: String) async throws {
        try await TestApp.with(configure: { $0.platforms.telegramAPIURL = base }) { app in
            let user = try await app.signUp("linker@example.test")
            let bad = try await app.api(
                .POST, "/v1/accounts/telegram", token: user.accessToken, json: ["token": "nope"])
            #expect(bad.status == 422)
            let unknown = try await app.api(
                .POST, "/v1/accounts/telegram", token: user.accessToken,
                json: ["token": "700199:AAnot_a_bot_the_simulator_knows_0000"])
            #expect(unknown.status == 422)
            #expect(try unknown.errorCode() == "credential_refused")
            #expect(!unknown.body.contains("AAnot_a_bot"))

            let linked = try await app.api(
                .POST, "/v1/accounts/telegram", token: user.accessToken, json: ["token": token])
            #expect(linked.status == 201, "\(linked.body)")
            #expect(try linked.json()["username"] as? String == "api_linked_bot")
            #expect(!linked.body.contains("AAaccounts"))
            let again = try await app.api(
                .POST, "/v1/accounts/telegram", token: user.accessToken, json: ["token": token])
            #expect(again.status == 409)

            let second = try await app.api(
                .POST, "/v1/accounts/telegram", token: user.accessToken, json: ["token": secondToken])
            #expect(second.status == 201)
            let third = try await app.api(
                .POST, "/v1/accounts/telegram", token: user.accessToken, json: ["token": thirdToken])
            #expect(third.status == 403)
            #expect(
                try third.errorMessage() == "the Free plan allows 2 linked accounts; upgrade to Pro to lift this limit")

            let list = try await app.api(.GET, "/v1/accounts", token: user.accessToken)
            #expect(try list.items().compactMap { $0["username"] as? String } == ["api_linked_bot", "second_bot"])
            #expect(try list.items().allSatisfy { $0["status"] as? String == "active" })
            #expect(!list.body.contains("AAaccounts"))

            // Unlinking takes the pairs that used the account with it.
            let id = try #require(try linked.json().int("id"))
            let secondID = try #require(try second.json().int("id"))
            let pair = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", id, -1), destination: ("telegram", secondID, -2)))
            #expect(pair.status == 201)
            #expect(try await app.api(.DELETE, "/v1/accounts/telegram/\(id)", token: user.accessToken).status == 204)
            #expect(try await app.api(.DELETE, "/v1/accounts/telegram/\(id)", token: user.accessToken).status == 404)
            #expect(try await PairRepository(client: app.app.postgres).counts(userID: user.id).all == 0)
            let stranger = try await app.signUp("thief@example.test")
            #expect(
                try await app.api(.DELETE, "/v1/accounts/telegram/\(secondID)", token: stranger.accessToken).status
                    == 404)
        }
    }

    @Test func concurrentLinksNeverExceedThePlan() async throws {
        let telegram = TelegramSimulator()
        let tokens = (0..<5).map { "70020\($0):AAconcurrent_link_token_for_tests_\($0)000" }
        for (index, token) in tokens.enumerated() {
            telegram.addBot(token: token, id: 700_200 + Int64(index), username: "race\(index)_bot", firstName: "Race")
        }
        let base = try await telegram.start()
        do {
            try await TestApp.with(configure: { $0.platforms.telegramAPIURL = base }) { app in
                let user = try await app.signUp("racer@example.test")
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for token in tokens {
                        group.addTask {
                            try await app.api(
                                .POST, "/v1/accounts/telegram", token: user.accessToken, json: ["token": token]
                            ).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                let linked = try await AccountRepository(client: app.app.postgres).count(userID: user.id)
                #expect(linked <= 2)
                #expect(statuses.filter { $0 == 201 }.count == linked)
                #expect(statuses.allSatisfy { $0 == 201 || $0 == 403 })
            }
        } catch {
            await telegram.stop()
            throw error
        }
        await telegram.stop()
    }

    @Test func discordWebhooksAreCheckedForShape() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("hooks@example.test")
            let both = try await app.api(
                .POST, "/v1/accounts/discord", token: user.accessToken,
                json: ["botToken": "x", "webhookUrl": "https://discord.com/api/webhooks/1/abc"])
            #expect(both.status == 422)
            let bad = try await app.api(
                .POST, "/v1/accounts/discord", token: user.accessToken, json: ["webhookUrl": "https://example.com/x"])
            #expect(bad.status == 422)
            #expect(try bad.errorCode() == "credential_refused")
            let hook = try await app.api(
                .POST, "/v1/accounts/discord", token: user.accessToken,
                json: ["webhookUrl": "https://discord.com/api/webhooks/123456/secret-token-part", "name": "news"])
            #expect(hook.status == 201, "\(hook.body)")
            #expect(try hook.json()["kind"] as? String == "webhook")
            #expect(!hook.body.contains("secret-token-part"))
        }
    }
}
