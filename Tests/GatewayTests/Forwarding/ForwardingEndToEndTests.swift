import Forwarding
import Foundation
import Logging
import PlatformSimulators
import PostgresNIO
import TestSupport
import Testing

/// Telegram in, Telegram and Discord out: the gateway over HTTPS on a real PostgreSQL, the
/// platforms played by the simulators over HTTP on loopback.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ForwardingEndToEndTests {
    typealias Entity = TelegramSimulator.Entity

    @Test func formattedMessageReachesTelegramAndDiscord() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .telegram)
            try await world.pair(to: .discordWebhook)
            try await world.pair(to: .discordBot)
            // "🚀" is two UTF-16 code units: the bold entity starts at 3.
            let text = "🚀 Launch now: docs <b> & *stars*"
            let entities = [
                Entity(type: "bold", offset: 3, length: 6),
                Entity(type: "text_link", offset: 15, length: 4, url: "https://example.com/d?a=1&b=2"),
            ]
            try await world.post(text, entities: entities)
            try await world.waitUntil("all three copies arrive") {
                world.telegramCopies.count == 1 && world.discordMessages.count == 1
                    && world.discordBotMessages.count == 1
            }

            // Telegram: the same text with the same formatting, as the destination chat shows it.
            let copy = try #require(world.telegramCopies.first)
            #expect(copy.text == text)
            #expect(Set(copy.entities) == Set(entities))
            #expect(copy.senderBotID == 700002)

            // Discord webhook: markdown, the literal asterisks escaped, the author's name shown.
            let posted = try #require(world.discordMessages.first)
            #expect(posted.content.contains("**Launch**"))
            #expect(posted.content.contains("[docs](https://example.com/d?a=1&b=2)"))
            #expect(posted.content.contains(#"\*stars\*"#))
            #expect(posted.content.contains("<b> &"))
            #expect(posted.username == "Test User")
            #expect(posted.webhookID == ForwardingWorld.webhookID)

            // Discord bot: no pings, and a nonce Discord enforces so a retried create is not doubled.
            let botPosted = try #require(world.discordBotMessages.first)
            #expect(botPosted.content == posted.content)
            #expect(botPosted.enforceNonce)
            #expect(botPosted.nonce != nil)
            #expect(botPosted.allowedMentions?["parse"]?.arrayValue?.isEmpty == true)

            try await world.waitUntil("three deliveries are logged") {
                try await world.count("SELECT count(*) FROM message_logs WHERE outcome = 'delivered'") == 3
            }
            #expect(try await world.count("SELECT count(*) FROM message_links") == 3)
        }
    }

    @Test func editedSourceEditsEveryCopy() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .telegram)
            try await world.pair(to: .discordWebhook)
            let original = try await world.post("Price: 10 EUR")
            try await world.waitUntil("both copies arrive") {
                world.telegramCopies.count == 1 && world.discordMessages.count == 1
            }
            try await world.edit(original, text: "Price: 12 EUR")
            try await world.waitUntil("both copies are edited") {
                world.telegramCopies.first?.text == "Price: 12 EUR"
                    && world.discordMessages.first?.content == "Price: 12 EUR"
            }
            // Edited in place, not re-sent.
            #expect(world.telegramCopies.count == 1)
            #expect(world.discordMessages.count == 1)
            #expect(world.telegramCopies.first?.isEdited == true)
            #expect(world.discordMessages.first?.isEdited == true)
        }
    }

    @Test func replyThreadsInEveryDestination() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .telegram)
            try await world.pair(to: .discordWebhook)
            try await world.pair(to: .discordBot)
            let question = try await world.post("Who is in?")
            let questionID = try #require(question["message_id"]?.intValue)
            try await world.post("Me!", replyTo: Int(questionID))
            try await world.waitUntil("both messages arrive in all three places") {
                world.telegramCopies.count == 2 && world.discordMessages.count == 2
                    && world.discordBotMessages.count == 2
            }
            let copies = world.telegramCopies
            #expect(copies[1].text == "Me!")
            #expect(copies[1].replyToMessageID == copies[0].messageID)
            let botPosted = world.discordBotMessages
            #expect(botPosted[1].content == "Me!")
            #expect(botPosted[1].messageReference?.messageID == botPosted[0].id)
            // Webhook messages cannot reply on Discord: the reply quotes what it answers.
            let posted = world.discordMessages
            #expect(posted[1].content == "> ↪ Test User: Who is in?\nMe!")
        }
    }

    @Test func albumArrivesAsOneGroup() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .telegram)
            try await world.pair(to: .discordWebhook)
            let files = (1...3).map { Data("photo number \($0) bytes".utf8) }
            for (index, bytes) in files.enumerated() {
                try await world.post(
                    index == 0 ? "Holiday" : nil, kind: .photo, fileBytes: bytes, mediaGroupID: "album-1")
            }
            try await world.waitUntil("the album arrives") {
                world.telegramCopies.count == 3 && world.discordMessages.count == 1
            }
            let copies = world.telegramCopies
            #expect(copies.allSatisfy { $0.kind == .photo })
            #expect(Set(copies.map(\.mediaGroupID)).count == 1)
            #expect(copies[0].mediaGroupID != nil)
            #expect(copies[0].text == "Holiday")
            #expect(world.telegram.calls(method: "sendMediaGroup").count == 1)

            let posted = try #require(world.discordMessages.first)
            #expect(posted.attachments.map(\.bytes) == files)
            #expect(posted.content.contains("Holiday"))
        }
    }

    @Test func rateLimitStormDelaysButLosesNothing() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .telegram)
            try await world.pair(to: .discordWebhook)
            world.discord.failNext(
                6, route: "POST /webhooks/{id}/{token}", with: .rateLimited(retryAfter: 0.3, global: false))
            world.telegram.failNext(4, method: "sendMessage", with: .tooManyRequests(retryAfter: 1))
            let texts = (1...10).map { "storm \($0)" }
            for text in texts { try await world.post(text) }
            try await world.waitUntil("every message arrives") {
                world.telegramCopies.count == 10 && world.discordMessages.count == 10
            }
            #expect(world.telegramCopies.map(\.text) == texts)
            #expect(world.discordMessages.map(\.content) == texts)
            #expect(world.discord.allRequests.filter { $0.status == 429 }.count == 6)
            #expect(world.telegram.calls(method: "sendMessage").filter { $0.status == 429 }.count == 4)
            // A 429 is not a failed attempt: nothing was discarded and nothing logged as failed.
            #expect(try await world.count("SELECT count(*) FROM jobs WHERE state = 'discarded'") == 0)
            #expect(try await world.count("SELECT count(*) FROM message_logs WHERE outcome = 'failed'") == 0)
        }
    }

    @Test func permanentErrorPausesOnlyThatPair() async throws {
        try await ForwardingWorld.run { world in
            let kicked = try await world.pair(to: .telegram)
            let denied = try await world.pair(to: .discordBot)
            let healthy = try await world.pair(to: .discordWebhook)
            world.telegram.failNext(
                1, method: "sendMessage", chatID: ForwardingWorld.destinationChat,
                with: .forbidden("bot was kicked from the supergroup chat"))
            world.discord.failNext(
                1, route: "POST /channels/{id}/messages",
                with: .httpError(status: 403, code: 50013, message: "Missing Permissions"))
            try await world.post("first")
            try await world.waitUntil("both failing pairs are paused") {
                let first = try await world.pairRecord(kicked.id)?.status
                let second = try await world.pairRecord(denied.id)?.status
                return first == .paused && second == .paused
            }
            let kickedNow = try #require(try await world.pairRecord(kicked.id))
            #expect(kickedNow.pausedReason?.contains("kicked") == true)
            let deniedNow = try #require(try await world.pairRecord(denied.id))
            #expect(deniedNow.pausedReason?.contains("Missing Permissions") == true)
            #expect(try await world.pairRecord(healthy.id)?.status == .active)
            #expect(
                try await world.count("SELECT count(*) FROM error_logs WHERE pair_id IN (\(kicked.id), \(denied.id))")
                    == 2)

            // Later messages reach the healthy pair only; the paused ones are not retried.
            try await world.post("second")
            try await world.waitUntil("the healthy pair has both") { world.discordMessages.count == 2 }
            try await world.waitUntil("the queue is empty") {
                try await world.count("SELECT count(*) FROM jobs WHERE state IN ('available', 'running')") == 0
            }
            #expect(world.telegramCopies.isEmpty)
            #expect(world.discordBotMessages.isEmpty)
            #expect(world.telegram.calls(method: "sendMessage").count == 1)
        }
    }

    @Test func duplicateUpdateIsDeliveredOnce() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .discordWebhook)
            let message = try world.telegram.injectMessage(chatID: ForwardingWorld.sourceChat, text: "only once")
            guard case .object(var update) = world.telegram.makeUpdate(message: message) else { return }
            update["update_id"] = 424_242
            // Telegram redelivers when it did not see our 200 in time.
            try await world.deliver(.object(update))
            try await world.deliver(.object(update))
            try await world.waitUntil("the message arrives and the queue is empty") {
                try await world.count("SELECT count(*) FROM jobs WHERE state IN ('available', 'running')") == 0
                    && world.discordMessages.count >= 1
            }
            #expect(world.discordMessages.map(\.content) == ["only once"])
            #expect(try await world.count("SELECT count(*) FROM inbound_events") == 1)
        }
    }

    @Test func twoHundredMessagesArriveInOrder() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .telegram)
            try await world.pair(to: .discordWebhook)
            try await world.pair(to: .discordBot)
            let texts = (1...200).map { "message \($0)" }
            for text in texts { try await world.post(text) }
            try await world.waitUntil("all 200 arrive everywhere", timeout: .seconds(60)) {
                world.telegramCopies.count == 200 && world.discordMessages.count == 200
                    && world.discordBotMessages.count == 200
            }
            #expect(world.telegramCopies.map(\.text) == texts)
            #expect(world.discordMessages.map(\.content) == texts)
            #expect(world.discordBotMessages.map(\.content) == texts)
        }
    }

    /// A plain message is routed in its webhook request: stored with its deliver jobs, no route
    /// job, the chat's first one too (the request loads the chat's pairs, which are not cached
    /// yet). One a pair's filter drops still goes through a route job, which logs it as filtered
    /// (and the message after it, queued behind that job, arrives all the same).
    @Test func plainMessagesSkipTheRouteJob() async throws {
        try await ForwardingWorld.run(configure: { $0.jobs.retention = .seconds(3600) }) { world in
            try await world.pair(to: .discordWebhook, options: PairOptions(excludeKeywords: ["secret"]))
            try await world.pair(to: .discordBot)
            let kinds = "SELECT count(*) FROM jobs WHERE kind = "
            try await world.post("first")
            try await world.post("second")
            try await world.waitUntil("both copies of both arrive") {
                world.discordMessages.count == 2 && world.discordBotMessages.count == 2
            }
            #expect(try await world.count(kinds + "'forward.route'") == 0)
            #expect(try await world.count(kinds + "'forward.deliver'") == 4)

            try await world.post("a secret")
            try await world.post("last")
            try await world.waitUntil("the rest arrive") {
                world.discordMessages.count == 3 && world.discordBotMessages.count == 4
            }
            #expect(world.discordMessages.map(\.content) == ["first", "second", "last"])
            #expect(world.discordBotMessages.map(\.content) == ["first", "second", "a secret", "last"])
            #expect(try await world.count(kinds + "'forward.route'") >= 1)
            try await world.waitUntil("the filtered one is logged") {
                try await world.count("SELECT count(*) FROM message_logs WHERE outcome = 'filtered'") == 1
            }
        }
    }

    /// When a chat's pairs cannot be read within `InlineRouting.pairsWait` (here another session
    /// holds their table locked), the webhook does not wait for them: it answers, storing the
    /// update with a route job, and the message is delivered once the pairs can be read.
    @Test func aChatWhosePairsDoNotLoadInTimeGoesThroughARouteJob() async throws {
        try await ForwardingWorld.run(configure: { $0.jobs.retention = .seconds(3600) }) { world in
            try await world.pair(to: .discordWebhook)
            try await world.app.app.postgres.withConnection { connection in
                let logger = Logger(label: "afx.test")
                try await connection.query("BEGIN", logger: logger)
                try await connection.query("LOCK TABLE forwarding_pairs IN ACCESS EXCLUSIVE MODE", logger: logger)
                // Answered 200 while the lock is held (`post` requires it).
                try await world.post("while the pairs are locked")
                #expect(try await world.count("SELECT count(*) FROM jobs WHERE kind = 'forward.route'") == 1)
                #expect(try await world.count("SELECT count(*) FROM jobs WHERE kind = 'forward.deliver'") == 0)
                #expect(world.discordMessages.isEmpty)
                try await connection.query("COMMIT", logger: logger)
            }
            try await world.waitUntil("the message arrives") { world.discordMessages.count == 1 }
            #expect(world.discordMessages.map(\.content) == ["while the pairs are locked"])
        }
    }

    /// A gateway that runs no workers leaves routing to the processes that do: its webhook stores
    /// the update with a route job that names the stored event only, and does not spend the
    /// request on routing. A worker in another gateway reads the update back and delivers it.
    @Test func withoutLocalWorkersTheWebhookStoresARouteJob() async throws {
        try await ForwardingWorld.run(configure: { $0.jobs.enabled = false }) { world in
            try await world.pair(to: .discordWebhook)
            try await world.post("routed by a worker elsewhere")
            let kinds = "SELECT count(*) FROM jobs WHERE kind = "
            #expect(try await world.count(kinds + "'forward.route'") == 1)
            #expect(try await world.count(kinds + "'forward.route' AND payload ? 'event'") == 0)
            #expect(try await world.count(kinds + "'forward.deliver'") == 0)
            #expect(world.discordMessages.isEmpty)

            let platforms = world.app.app.config.platforms
            try await TestApp.with(database: world.database.url) { config in
                config.platforms = platforms
                config.jobs.pollInterval = .milliseconds(200)
            } _: { _ in
                try await world.waitUntil("a worker elsewhere delivers the message") {
                    world.discordMessages.count == 1
                }
            }
            #expect(world.discordMessages.map(\.content) == ["routed by a worker elsewhere"])
        }
    }

    @Test func wrongSecretIsRejectedAndNothingStored() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .discordWebhook)
            let message = try world.telegram.injectMessage(chatID: ForwardingWorld.sourceChat, text: "forged")
            let body = Array(world.telegram.makeUpdate(message: message).jsonString.utf8)
            let url = "\(world.app.baseURL)/telegram/\(world.sourceBot)/webhook"
            for headers in [[("X-Telegram-Bot-Api-Secret-Token", "not-the-secret")], []] {
                let response = try await world.app.client.send(
                    .POST, url, headers: headers + [("Content-Type", "application/json")], body: body)
                #expect(response.status == 401)
                #expect(try response.errorCode() == "invalid_secret")
            }
            let unknown = try await world.app.client.send(
                .POST, "\(world.app.baseURL)/telegram/999999/webhook",
                headers: [("X-Telegram-Bot-Api-Secret-Token", "x")], body: body)
            #expect(unknown.status == 404)
            #expect(try await world.count("SELECT count(*) FROM inbound_events") == 0)
            #expect(try await world.count("SELECT count(*) FROM jobs") == 0)
            #expect(world.discordMessages.isEmpty)
        }
    }
}
