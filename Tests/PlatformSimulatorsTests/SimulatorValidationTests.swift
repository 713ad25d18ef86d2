import Foundation
import PlatformSimulators
import Testing

/// The simulators refuse what the real APIs refuse, with the real shapes of error, so the
/// gateway's error handling is tested against something that behaves like the platform.
@Suite struct TelegramValidationTests {
    @Test func tooLongTextUnknownChatAndBadToken() async throws {
        try await TelegramFixture.run { fixture in
            let long = try await fixture.call(
                "sendMessage",
                ["chat_id": .int(TelegramFixture.group), "text": .string(String(repeating: "a", count: 4097))])
            #expect(long.status == 400)
            #expect(long.telegramDescription == "Bad Request: message is too long")

            let ok = try await fixture.call(
                "sendMessage",
                ["chat_id": .int(TelegramFixture.group), "text": .string(String(repeating: "a", count: 4096))])
            #expect(ok.status == 200)

            let missing = try await fixture.call("sendMessage", ["chat_id": -999, "text": "hi"])
            #expect(missing.status == 400)
            #expect(missing.telegramDescription == "Bad Request: chat not found")

            let unauthorized = try await fixture.call(
                "sendMessage", ["chat_id": .int(TelegramFixture.group), "text": "hi"], token: "1:wrong")
            #expect(unauthorized.status == 401)
            #expect(unauthorized.telegramDescription == "Unauthorized")
        }
    }

    @Test func armedFailuresAnswerLikeTelegram() async throws {
        try await TelegramFixture.run { fixture in
            fixture.sim.failNext(1, method: "sendMessage", with: .tooManyRequests(retryAfter: 7))
            let limited = try await fixture.call("sendMessage", ["chat_id": .int(TelegramFixture.group), "text": "hi"])
            #expect(limited.status == 429)
            #expect(try limited.json()["parameters"]?["retry_after"]?.intValue == 7)
            #expect(limited.telegramDescription == "Too Many Requests: retry after 7")

            fixture.sim.failNext(1, method: "sendMessage", with: .migrate(toChatID: -100_777))
            let migrated = try await fixture.call(
                "sendMessage", ["chat_id": .int(TelegramFixture.group), "text": "hi"])
            #expect(migrated.status == 400)
            #expect(try migrated.json()["parameters"]?["migrate_to_chat_id"]?.intValue == -100_777)

            // Armed failures are used up; the next call goes through and nothing failed was stored.
            let ok = try await fixture.call("sendMessage", ["chat_id": .int(TelegramFixture.group), "text": "hi"])
            #expect(ok.status == 200)
            #expect(fixture.sim.messages(inChat: TelegramFixture.group).count == 1)
        }
    }
}

@Suite struct DiscordValidationTests {
    static let token = "MTAwMDAwMDAwMDAwMDAwMDAx.simulated.bot-token-for-tests"
    static let channel = "900000000000000001"

    static func run(_ body: (DiscordSimulator, String) async throws -> Void) async throws {
        let sim = DiscordSimulator()
        sim.addBot(token: token, userID: "1", applicationID: "2", username: "bot")
        sim.addChannel(id: channel, guildID: "3", name: "general")
        sim.addWebhook(id: "950000000000000001", token: "hook-token", channelID: channel, name: "hook")
        let base = try await sim.start()
        do {
            try await body(sim, base + "/api/v10")
        } catch {
            await sim.stop()
            throw error
        }
        await sim.stop()
    }

    @Test func contentRulesAndAuthentication() async throws {
        try await Self.run { sim, api in
            let auth = [("Authorization", "Bot \(Self.token)")]
            let url = "\(api)/channels/\(Self.channel)/messages"
            let long = try await TestHTTP.json(
                .POST, url, ["content": .string(String(repeating: "x", count: 2001))], headers: auth)
            #expect(long.status == 400)
            #expect(try long.json()["code"]?.intValue == 50035)

            let empty = try await TestHTTP.json(.POST, url, ["content": ""], headers: auth)
            #expect(empty.status == 400)
            #expect(try empty.json()["code"]?.intValue == 50006)

            let anonymous = try await TestHTTP.json(.POST, url, ["content": "hi"])
            #expect(anonymous.status == 401)

            let wrongHook = try await TestHTTP.json(
                .POST, "\(api)/webhooks/950000000000000001/not-the-token?wait=true", ["content": "hi"])
            #expect(wrongHook.status == 401)
            #expect(try wrongHook.json()["code"]?.intValue == 50027)

            #expect(sim.messages(inChannel: Self.channel).isEmpty)
            #expect(sim.createdMessageCount == 0)
        }
    }

    @Test func enforcedNonceReturnsTheFirstMessage() async throws {
        try await Self.run { sim, api in
            let auth = [("Authorization", "Bot \(Self.token)")]
            let url = "\(api)/channels/\(Self.channel)/messages"
            let body: SimulatorJSON = ["content": "once", "nonce": "j1p0", "enforce_nonce": true]
            let first = try await TestHTTP.json(.POST, url, body, headers: auth)
            let second = try await TestHTTP.json(.POST, url, body, headers: auth)
            #expect(first.status == 200)
            #expect(second.status == 200)
            #expect(try first.json()["id"] == second.json()["id"])
            #expect(sim.messages(inChannel: Self.channel).count == 1)
            #expect(sim.createdMessageCount == 1)
        }
    }

    @Test func bucketsAnswer429WithHeaders() async throws {
        try await Self.run { sim, api in
            sim.setBucket(limit: 2, resetAfter: 5, channelID: Self.channel)
            let auth = [("Authorization", "Bot \(Self.token)")]
            let url = "\(api)/channels/\(Self.channel)/messages"
            var statuses: [Int] = []
            var last: HTTPResult?
            for n in 0..<3 {
                let result = try await TestHTTP.json(.POST, url, ["content": .string("m\(n)")], headers: auth)
                statuses.append(result.status)
                last = result
            }
            #expect(statuses == [200, 200, 429])
            let limited = try #require(last)
            #expect(limited.header("X-RateLimit-Remaining") == "0")
            #expect(try (limited.json()["retry_after"]?.doubleValue ?? 0) > 0)
            #expect(sim.messages(inChannel: Self.channel).count == 2)
        }
    }
}
