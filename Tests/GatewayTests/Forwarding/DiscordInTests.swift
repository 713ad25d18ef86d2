import DiscordAPI
import Forwarding
import Foundation
import PlatformSimulators
import Store
import TestSupport
import Testing

/// Discord as a source: channel messages arrive over the bot's Gateway session (the simulator
/// speaks Gateway v10 over a real websocket) and are forwarded to Telegram and Discord.
@Suite(.database, .timeLimit(.minutes(3))) struct DiscordInTests {
    static let author = "300000000000000001"
    static let mentioned = "300000000000000002"

    func people(_ discord: DiscordSimulator) {
        discord.addUser(id: Self.author, username: "alice", globalName: "Alice")
        discord.addUser(id: Self.mentioned, username: "bob", globalName: "Bob")
        discord.addRole(guildID: ForwardingWorld.discordGuild, id: "400000000000000001", name: "Moderators")
    }

    @Test func aDiscordMessageReachesTelegramAndAnotherChannelAndEditsAndDeletesFollow() async throws {
        try await ForwardingWorld.run { world in
            people(world.discord)
            try await world.discordPair(to: .telegram)
            try await world.discordPair(to: .discordBot)
            try await world.waitForGatewaySession()

            let id = try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: Self.author,
                content: "Hello **world** <@\(Self.mentioned)> in <#\(ForwardingWorld.discordBotChannel)> "
                    + "for <@&400000000000000001> <:blobwave:123456789012345678>")
            try await world.waitUntil("both copies exist") {
                world.telegramCopies.count == 1 && world.discordBotMessages.count == 1
            }
            let telegram = try #require(world.telegramCopies.first)
            #expect(telegram.text == "Hello world @Bob in #announcements for @Moderators :blobwave:")
            #expect(telegram.entities.contains { $0.type == "bold" && $0.offset == 6 && $0.length == 5 })
            let copy = try #require(world.discordBotMessages.first)
            #expect(copy.content == "Hello **world** @Bob in #announcements for @Moderators :blobwave:")

            try world.discord.editUserMessage(id: id, content: "Hello *again*")
            try await world.waitUntil("the edit reaches both copies") {
                world.telegramCopies.first?.text == "Hello again"
                    && world.discordBotMessages.first?.content == "Hello *again*"
            }
            #expect(world.telegramCopies.first?.entities.first?.type == "italic")

            try world.discord.deleteUserMessage(id: id)
            try await world.waitUntil("the delete reaches both copies") {
                world.telegramCopies.first?.deleted == true && world.discordBotMessages.first?.deleted == true
            }
        }
    }

    @Test func copiesOlderThanTelegramsDeleteWindowAreLeftAndLogged() async throws {
        try await ForwardingWorld.run { world in
            try await world.discordPair(to: .telegram)
            try await world.waitForGatewaySession()
            let id = try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: Self.author, content: "old news")
            try await world.waitUntil("the copy is recorded") {
                try await world.count("SELECT count(*) FROM message_links") == 1
            }
            // As if the copy had been sent two days ago: Telegram no longer lets a bot delete it.
            _ = try await world.count("UPDATE message_links SET created_at = now() - interval '49 hours' RETURNING 1")
            try world.discord.deleteUserMessage(id: id)
            try await world.waitUntil("the delete is logged as skipped") {
                try await world.count(
                    "SELECT count(*) FROM message_logs WHERE event = 'delete' AND outcome = 'skipped' AND error LIKE '%48 h%'"
                ) == 1
            }
            #expect(world.telegramCopies.first?.deleted == false)
            #expect(world.telegram.calls(method: "deleteMessage").isEmpty)
        }
    }

    @Test func attachmentsAndRepliesTravelToTelegram() async throws {
        try await ForwardingWorld.run { world in
            people(world.discord)
            try await world.discordPair(to: .telegram)
            try await world.waitForGatewaySession()
            let first = try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: Self.author, content: "the plan")
            try await world.waitUntil("the first copy exists") { world.telegramCopies.count == 1 }
            let photo = Data((0..<2048).map { UInt8($0 % 251) })
            try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: Self.mentioned, content: "see this",
                uploads: [.init(filename: "chart.png", contentType: "image/png", bytes: photo)], replyTo: first)
            try await world.waitUntil("the reply with its photo is copied") { world.telegramCopies.count == 2 }
            let reply = try #require(world.telegramCopies.last)
            #expect(reply.kind == .photo)
            #expect(reply.uploadedByteCount == photo.count)
            #expect(reply.replyToMessageID == world.telegramCopies.first?.messageID)
        }
    }

    @Test func ourOwnCopiesComingBackOverTheGatewayAreNotForwardedAgain() async throws {
        try await ForwardingWorld.run { world in
            // Both directions between two channels: a loop if the bot's copies were routed.
            try await world.discordPair(from: ForwardingWorld.discordChannel, to: .discordBot)
            let back = try await PairRepository(client: world.app.app.postgres).create(
                Pair(
                    id: 0, userID: world.userID,
                    source: .init(
                        platform: .discord, accountID: world.discordBot,
                        chatID: Int64(ForwardingWorld.discordBotChannel)!),
                    destination: .init(
                        platform: .discord, accountID: world.discordWebhook,
                        chatID: Int64(ForwardingWorld.discordChannel)!)))
            try await world.waitForGatewaySession()
            try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: Self.author, content: "one")
            try await world.waitUntil("the first copy is delivered") {
                try await world.count("SELECT count(*) FROM message_logs WHERE outcome = 'delivered'") == 1
            }
            // The copy's MESSAGE_CREATE went out before the copy was acknowledged; a message posted
            // now comes after it on the session, so once this one is routed, that one was seen.
            try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordBotChannel, authorID: Self.author, content: "two")
            try await world.waitUntil("the second message is copied back") {
                try await world.count("SELECT count(*) FROM message_logs WHERE outcome = 'delivered'") == 2
            }
            #expect(try await world.count("SELECT count(*) FROM inbound_events WHERE source = 'discord'") == 2)
            #expect(world.discordBotMessages.map(\.content) == ["one"])
            #expect(world.discordMessages.map(\.content) == ["two"])
            #expect(back.status == .active)
        }
    }

    @Test func aDroppedSessionResumesAndLosesNothingSentMeanwhile() async throws {
        try await ForwardingWorld.run { world in
            try await world.discordPair(to: .telegram)
            try await world.waitForGatewaySession()
            try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: Self.author, content: "before")
            try await world.waitUntil("the first copy exists") { world.telegramCopies.count == 1 }

            world.discord.setGatewayAvailable(false)
            try await world.waitUntil("the session is down") {
                world.discord.gatewayStats(token: ForwardingWorld.discordBotToken).live == 0
            }
            for text in ["during 1", "during 2", "during 3"] {
                try world.discord.postUserMessage(
                    channelID: ForwardingWorld.discordChannel, authorID: Self.author, content: text)
            }
            world.discord.setGatewayAvailable(true)
            try await world.waitUntil("everything sent during the outage is copied") {
                world.telegramCopies.count == 4
            }
            #expect(world.telegramCopies.map(\.text) == ["before", "during 1", "during 2", "during 3"])
            let stats = world.discord.gatewayStats(token: ForwardingWorld.discordBotToken)
            #expect(stats.identifies == 1)
            #expect(stats.resumes >= 1)
            #expect(stats.replayed >= 3)
            #expect(stats.maxLive == 1)
        }
    }

    @Test func reconnectRequestsAndInvalidSessionsAreFollowed() async throws {
        try await ForwardingWorld.run { world in
            try await world.discordPair(to: .telegram)
            try await world.waitForGatewaySession()
            let token = ForwardingWorld.discordBotToken
            world.discord.requestGatewayReconnect(token: token)
            try await world.waitUntil("the session resumed after op 7") {
                world.discord.gatewayStats(token: token).resumes == 1
                    && world.discord.gatewayStats(token: token).live == 1
            }
            world.discord.invalidateGatewaySession(token: token, resumable: false)
            try await world.waitUntil("a new session was identified after op 9") {
                world.discord.gatewayStats(token: token).identifies == 2
                    && world.discord.gatewayStats(token: token).live == 1
            }
            try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: Self.author, content: "still here")
            try await world.waitUntil("the new session forwards") { world.telegramCopies.count == 1 }
        }
    }

    @Test func aZombieConnectionIsReplaced() async throws {
        try await ForwardingWorld.run { world in
            world.discord.setHeartbeatInterval(milliseconds: 200)
            try await world.discordPair(to: .telegram)
            try await world.waitForGatewaySession()
            let token = ForwardingWorld.discordBotToken
            world.discord.stopAcknowledgingHeartbeats(token: token)
            try await world.waitUntil("the unacknowledged connection was replaced by a resumed one") {
                world.discord.gatewayStats(token: token).resumes >= 1
            }
            #expect(world.discord.gatewayStats(token: token).maxLive == 1)
        }
    }

    @Test func disallowedIntentsMarkTheBotBrokenAndAreNotRetried() async throws {
        try await ForwardingWorld.run { world in
            let token = ForwardingWorld.discordBotToken
            try await world.discordPair(to: .telegram)
            // Live first, so the refusal comes on a re-identify whatever the machine's pace (a
            // plain drop would resume, and an early deny would only test the first identify).
            try await world.waitForGatewaySession()
            world.discord.denyMessageContentIntent(token: token)
            world.discord.invalidateGatewaySession(token: token, resumable: false)
            try await world.waitUntil("the account is marked broken") {
                try await world.count(
                    "SELECT count(*) FROM discord_accounts WHERE status = 'broken' AND status_reason LIKE '%disallowed intents%'"
                ) == 1
            }
            let identifies = world.discord.gatewayStats(token: token).identifies
            // Reconnects are 50 ms apart here; a retry would show within this wait.
            try await Task.sleep(for: .seconds(1))
            #expect(world.discord.gatewayStats(token: token).identifies == identifies)
            #expect(world.discord.gatewayStats(token: token).live == 0)
        }
    }

    @Test func aSpentSessionStartBudgetIsWaitedOut() async throws {
        try await ForwardingWorld.run(prepare: { _, discord in
            discord.setSessionStartLimit(remaining: 0, resetAfterMilliseconds: 60_000)
        }) { world in
            try await world.waitUntil("the gateway asked Discord for its session budget") {
                world.discord.allRequests.filter { $0.route == "/gateway/bot" }.count >= 2
            }
            try await Task.sleep(for: .seconds(1))
            #expect(world.discord.gatewayStats(token: ForwardingWorld.discordBotToken).identifies == 0)
        }
    }
}
