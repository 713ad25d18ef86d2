import AsyncHTTPClient
import Forwarding
import Foundation
import Gateway
import PlatformSimulators
import Store
import TelegramBotAPI
import TestSupport
import Testing

/// The platform rules and pair options end to end: chat migration, media too large for Discord,
/// filters and decorations, and getUpdates polling instead of a webhook.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ForwardingRulesTests {
    @Test func migratedDestinationChatMovesThePair() async throws {
        let supergroup: Int64 = -1_001_000_000_099
        try await ForwardingWorld.run { world in
            world.telegram.addChat(id: supergroup, type: .supergroup, title: "Upgraded")
            let pair = try await world.pair(to: .telegram)
            world.telegram.failNext(
                1, method: "sendMessage", chatID: ForwardingWorld.destinationChat, with: .migrate(toChatID: supergroup))
            try await world.post("after the upgrade")
            try await world.waitUntil("the message reaches the new supergroup") {
                world.telegram.messages(inChat: supergroup).count == 1
            }
            #expect(world.telegram.messages(inChat: supergroup).first?.text == "after the upgrade")
            let moved = try #require(try await world.pairRecord(pair.id))
            #expect(moved.destination.chatID == supergroup)
            #expect(moved.status == .active)
        }
    }

    @Test func mediaTooLargeForDiscordBecomesALine() async throws {
        try await ForwardingWorld.run { config in
            config.platforms.discordMaxUploadBytes = 1024
        } _: { world in
            try await world.pair(to: .discordWebhook)
            try await world.pair(to: .telegram)
            let bytes = Data(repeating: 0x41, count: 5000)
            try await world.post("the report", kind: .document, fileBytes: bytes)
            try await world.waitUntil("both destinations have it") {
                world.discordMessages.count == 1 && world.telegramCopies.count == 1
            }
            let posted = try #require(world.discordMessages.first)
            #expect(posted.attachments.isEmpty)
            #expect(posted.content.contains("the report"))
            #expect(posted.content.contains("too large to forward here"))
            // Telegram takes the file itself.
            #expect(world.telegramCopies.first?.kind == .document)
            // The bot token is in Telegram's file URL: it must never reach a destination.
            #expect(!posted.content.contains(ForwardingWorld.sourceToken))
        }
    }

    /// Routing applies the owner's plan at the time a message arrives: after a move to Free (which
    /// leaves the pairs as they were), Telegram gets text without media or edits, Discord nothing.
    @Test func theOwnersPlanDecidesWhatIsForwarded() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .telegram)
            try await world.pair(to: .discordWebhook)
            _ = try await UserRepository(client: world.app.app.postgres).setPlan(id: world.userID, plan: "free")
            let photo = try await world.post("the menu", kind: .photo, fileBytes: Data(repeating: 7, count: 300))
            try await world.post("first barrier")
            try await world.waitUntil("both messages reach Telegram") { world.telegramCopies.count == 2 }
            let copy = try #require(world.telegramCopies.first)
            #expect(copy.kind == .text)
            #expect(copy.text?.contains("the menu") == true)

            try await world.edit(photo, text: "the new menu")
            try await world.post("second barrier")
            try await world.waitUntil("the second barrier arrives") { world.telegramCopies.count == 3 }
            #expect(world.telegramCopies.first?.isEdited == false)
            #expect(world.discordMessages.isEmpty)
        }
    }

    @Test func pairOptionsFilterAndDecorate() async throws {
        try await ForwardingWorld.run { world in
            let options = PairOptions(
                excludeKeywords: ["spam"], header: "From the source group", showSender: true)
            let pair = try await world.pair(to: .telegram, options: options)
            try await world.post("cheap spam here")
            try await world.post("hello everyone")
            try await world.waitUntil("the clean message arrives") { world.telegramCopies.count == 1 }
            let copy = try #require(world.telegramCopies.first?.text)
            #expect(copy.contains("From the source group"))
            #expect(copy.contains("Test User"))
            #expect(copy.contains("hello everyone"))
            try await world.waitUntil("the filtered one is logged") {
                try await world.count(
                    "SELECT count(*) FROM message_logs WHERE pair_id = \(pair.id) AND outcome = 'filtered'") == 1
            }
            #expect(world.telegramCopies.count == 1)
        }
    }

    @Test func pollingModeForwardsWithoutAWebhook() async throws {
        try await ForwardingWorld.run { world in
            try await world.pair(to: .discordWebhook)
            let token = try await world.app.app.linking.telegramToken(accountID: world.sourceBot)
            let telegram = TelegramClient(
                configuration: .init(apiBaseURL: world.app.app.config.platforms.telegramAPIURL),
                http: HTTPClient.shared)
            _ = try await telegram.deleteWebhook(token: token)
            let poller = TelegramPoller(
                client: world.app.app.postgres, telegram: telegram, accountID: world.sourceBot, token: token,
                plan: "elite", logger: world.app.app.logger)
            let polling = Task { try await poller.run(from: 0) }
            defer { polling.cancel() }

            let message = try world.telegram.injectMessage(chatID: ForwardingWorld.sourceChat, text: "polled")
            let status = try await world.telegram.deliver(
                update: world.telegram.makeUpdate(message: message), toBotToken: ForwardingWorld.sourceToken)
            #expect(status == 0)  // no webhook: the update waits for getUpdates
            try await world.waitUntil("the polled message arrives") { world.discordMessages.count == 1 }
            #expect(world.discordMessages.first?.content == "polled")
            // The offset is saved, so a restarted poller neither repeats nor loses updates.
            try await world.waitUntil("the offset is stored") {
                try await world.count(
                    "SELECT poll_offset::int FROM telegram_accounts WHERE id = \(world.sourceBot)") > 0
            }
        }
    }
}

extension ForwardingRulesTests {
    /// A chat's limit is kept by rescheduling deliveries, so Telegram never has to refuse one:
    /// the simulator floods at 5 messages a second in a chat, the gateway allows 2 (burst 3).
    @Test func chatLimitsAreKeptByScheduling() async throws {
        try await ForwardingWorld.run { config in
            config.platforms.telegramChatPerSecond = 2
            config.platforms.telegramGroupPerMinute = 6000
        } _: { world in
            world.telegram.setFloodControl(perChatPerSecond: 5)
            try await world.pair(to: .telegram)
            let texts = (1...8).map { "paced \($0)" }
            for text in texts { try await world.post(text) }
            try await world.waitUntil("all eight arrive") { world.telegramCopies.count == 8 }
            #expect(world.telegramCopies.map(\.text) == texts)
            #expect(world.telegram.calls(method: "sendMessage").allSatisfy { $0.status == 200 })
            // Some deliveries waited for their turn as rescheduled jobs (no worker slept).
            var bytes: [UInt8] = []
            world.app.app.registry.emit(into: &bytes)
            let metrics = String(decoding: bytes, as: UTF8.self)
            let rescheduled = metrics.split(separator: "\n").first {
                $0.hasPrefix("afx_jobs_finished_total{") && $0.contains("forward.deliver") && $0.contains("retried")
            }
            #expect(rescheduled != nil)
        }
    }
}

extension ForwardingRulesTests {
    /// Linking registered the webhook with a secret and only the update types we forward, the
    /// token is stored encrypted, and a channel's posts are forwarded under the channel's name.
    @Test func channelPostsFromALinkedBot() async throws {
        let channel: Int64 = -1_001_000_000_077
        try await ForwardingWorld.run { world in
            let hook = try #require(world.telegram.webhook(forBot: ForwardingWorld.sourceToken))
            #expect(hook.url == "\(world.app.baseURL)/telegram/\(world.sourceBot)/webhook")
            #expect((hook.secretToken?.count ?? 0) >= 32)
            #expect(
                Set(hook.allowedUpdates ?? [])
                    == ["message", "edited_message", "channel_post", "edited_channel_post"])
            let stored = try await world.app.app.postgres.query(
                "SELECT token_ciphertext FROM telegram_accounts WHERE id = \(world.sourceBot)"
            ).collect().first!.decode(Data.self)
            #expect(stored.range(of: Data(ForwardingWorld.sourceToken.utf8)) == nil)
            #expect(stored.range(of: Data("source_token_for_tests".utf8)) == nil)

            world.telegram.addChat(id: channel, type: .channel, title: "Announcements")
            _ = try await PairRepository(client: world.app.app.postgres).create(
                Pair(
                    id: 0, userID: world.userID,
                    source: .init(platform: .telegram, accountID: world.sourceBot, chatID: channel),
                    destination: .init(
                        platform: .discord, accountID: world.discordWebhook,
                        chatID: Int64(ForwardingWorld.discordChannel)!)))
            let post = try world.telegram.injectMessage(chatID: channel, text: "New release")
            try await world.deliver(world.telegram.makeUpdate(message: post))
            try await world.waitUntil("the channel post arrives") { world.discordMessages.count == 1 }
            #expect(world.discordMessages.first?.content == "New release")
            #expect(world.discordMessages.first?.username == "Announcements")
        }
    }
}
