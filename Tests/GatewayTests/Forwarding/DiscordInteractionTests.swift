import Forwarding
import Foundation
import PlatformSimulators
import Store
import TestSupport
import Testing

/// `POST /discord/{app}/interactions` as Discord calls it: signed by the simulator with the
/// application's Ed25519 key, over HTTPS.
@Suite(.database, .timeLimit(.minutes(3))) struct DiscordInteractionTests {
    static let app = ForwardingWorld.discordApplication
    static let channel = ForwardingWorld.discordChannel
    static let guild = ForwardingWorld.discordGuild

    func send(
        _ world: ForwardingWorld, type: Int, data: SimulatorJSON? = nil, permissions: String = "32",
        forge: Bool = false, timestamp: Int? = nil, application: String = app
    ) async throws -> DiscordSimulator.InteractionReply {
        let interaction = world.discord.interaction(
            applicationID: application, type: type, data: data, channelID: Self.channel, guildID: Self.guild,
            permissions: permissions)
        return try await world.discord.sendInteraction(
            interaction, to: "\(world.app.baseURL)/discord/\(application)/interactions",
            trustingCA: try await TestCertificates.shared().caPath, forgeSignature: forge, timestamp: timestamp)
    }

    func forward(_ sub: String, _ options: [(String, SimulatorJSON)] = []) -> SimulatorJSON {
        [
            "name": "forward", "type": 1,
            "options": [
                .object([
                    "name": .string(sub), "type": 1,
                    "options": .array(
                        options.map { name, value in
                            let type: Int64 = name.hasPrefix("to_channel") ? 7 : (value.intValue != nil ? 4 : 3)
                            return ["name": .string(name), "type": .int(type), "value": value]
                        }),
                ])
            ],
        ]
    }

    @Test func pingIsAnsweredWithPong() async throws {
        try await ForwardingWorld.run { world in
            let reply = try await send(world, type: 1)
            #expect(reply.status == 200)
            #expect(reply.body == ["type": 1])
        }
    }

    @Test func forgedStaleOrUnknownInteractionsAreRefused() async throws {
        try await ForwardingWorld.run { world in
            let forged = try await send(world, type: 2, data: forward("add", [("to_telegram", "-100123")]), forge: true)
            #expect(forged.status == 401)
            #expect(forged.body?["error"]?["code"] == "invalid_signature")
            let stale = try await send(
                world, type: 1, timestamp: Int(Date().timeIntervalSince1970) - 3600)
            #expect(stale.status == 401)
            #expect(stale.body?["error"]?["code"] == "stale_timestamp")
            let unknown = try await send(world, type: 1, application: "199999999999999999")
            #expect(unknown.status == 404)
            #expect(try await world.count("SELECT count(*) FROM forwarding_pairs") == 0)
        }
    }

    @Test func slashCommandsCreateListPauseAndRemovePairs() async throws {
        try await ForwardingWorld.run { world in
            // Only the destination bot is in the destination chat: it is the one chosen.
            world.telegram.setBotMember(
                botToken: ForwardingWorld.sourceToken, chatID: ForwardingWorld.destinationChat, isMember: false)
            let added = try await send(
                world, type: 2,
                data: forward("add", [("to_telegram", .string(String(ForwardingWorld.destinationChat)))]))
            #expect(added.status == 200)
            #expect(added.body?["type"] == 4)
            #expect(added.body?["data"]?["flags"] == 64)
            let pairs = try await PairRepository(client: world.app.app.postgres).list(userID: world.userID)
            let pair = try #require(pairs.first)
            #expect(pairs.count == 1)
            #expect(pair.source == .init(platform: .discord, accountID: world.discordBot, chatID: Int64(Self.channel)!))
            #expect(
                pair.destination
                    == .init(
                        platform: .telegram, accountID: world.destinationBot, chatID: ForwardingWorld.destinationChat))
            #expect(added.body?["data"]?["content"]?.stringValue?.contains("Pair #\(pair.id) created") == true)

            let listed = try await send(world, type: 2, data: forward("list"))
            #expect(listed.body?["data"]?["content"]?.stringValue?.hasPrefix("#\(pair.id) ") == true)

            _ = try await send(world, type: 2, data: forward("pause", [("pair", .int(pair.id))]))
            #expect(try await world.pairRecord(pair.id)?.status == .paused)
            _ = try await send(world, type: 2, data: forward("resume", [("pair", .int(pair.id))]))
            #expect(try await world.pairRecord(pair.id)?.status == .active)

            // The new pair forwards: the bot's Gateway session picks messages of the channel up.
            try await world.waitForGatewaySession()
            try world.discord.postUserMessage(channelID: Self.channel, authorID: "300000000000000001", content: "hi")
            try await world.waitUntil("the pair made from Discord forwards") { world.telegramCopies.count == 1 }

            _ = try await send(world, type: 2, data: forward("remove", [("pair", .int(pair.id))]))
            #expect(try await world.pairRecord(pair.id) == nil)
        }
    }

    @Test func commandsNeedManageServerAndValidOptions() async throws {
        try await ForwardingWorld.run { world in
            let refused = try await send(
                world, type: 2, data: forward("add", [("to_telegram", "-100123")]), permissions: "0")
            #expect(refused.body?["data"]?["content"]?.stringValue?.contains("Manage Server") == true)
            let both = try await send(
                world, type: 2,
                data: forward(
                    "add", [("to_telegram", "-100123"), ("to_channel", .string(ForwardingWorld.discordBotChannel))]))
            #expect(both.body?["data"]?["content"]?.stringValue?.contains("exactly one destination") == true)
            let notANumber = try await send(world, type: 2, data: forward("add", [("to_telegram", "@channel")]))
            #expect(notANumber.body?["data"]?["content"]?.stringValue?.contains("numeric Telegram chat id") == true)
            let noBotThere = try await send(world, type: 2, data: forward("add", [("to_telegram", "-100999")]))
            #expect(noBotThere.body?["data"]?["content"]?.stringValue?.contains("None of your Telegram bots") == true)
            #expect(try await world.count("SELECT count(*) FROM forwarding_pairs") == 0)
        }
    }

    @Test func statusIsDeferredAndCompletedByAFollowUp() async throws {
        try await ForwardingWorld.run { world in
            try await world.discordPair(to: .telegram)
            let interaction = world.discord.interaction(
                applicationID: Self.app, type: 2, data: ["name": "status", "type": 1], channelID: Self.channel,
                guildID: Self.guild, permissions: "8")
            let reply = try await world.discord.sendInteraction(
                interaction, to: "\(world.app.baseURL)/discord/\(Self.app)/interactions",
                trustingCA: try await TestCertificates.shared().caPath)
            #expect(reply.body?["type"] == 5)
            let token = try #require(interaction["token"]?.stringValue)
            try await world.waitUntil("the deferred answer is filled in") {
                !world.discord.originalResponseEdits(token: token).isEmpty
            }
            let content = world.discord.originalResponseEdits(token: token).last?["content"]?.stringValue ?? ""
            #expect(content.contains("**Pairs:** 1 active, 0 paused"))
        }
    }

    @Test func forwardToMenuForwardsOneMessageOnDemand() async throws {
        try await ForwardingWorld.run { world in
            // A pair of another channel: the message goes to its destination on demand only.
            let pair = try await world.discordPair(from: ForwardingWorld.discordBotChannel, to: .telegram)
            let target = try world.discord.injectMessage(channelID: Self.channel, content: "worth **sharing**")
            let menu = try await send(
                world, type: 2, data: ["name": "Forward to…", "type": 3, "target_id": .string(target)])
            let select = menu.body?["data"]?["components"]?[0]?["components"]?[0]
            #expect(select?["options"]?[0]?["value"] == .string(String(pair.id)))
            let customID = try #require(select?["custom_id"]?.stringValue)

            let chosen = world.discord.interaction(
                applicationID: Self.app, type: 3,
                data: ["custom_id": .string(customID), "component_type": 3, "values": [.string(String(pair.id))]],
                channelID: Self.channel, guildID: Self.guild, permissions: "32")
            let reply = try await world.discord.sendInteraction(
                chosen, to: "\(world.app.baseURL)/discord/\(Self.app)/interactions",
                trustingCA: try await TestCertificates.shared().caPath)
            #expect(reply.body?["type"] == 7)
            try await world.waitUntil("the message is copied") { world.telegramCopies.count == 1 }
            #expect(world.telegramCopies.first?.text == "worth sharing")
            let token = try #require(chosen["token"]?.stringValue)
            try await world.waitUntil("the menu says it is done") {
                world.discord.originalResponseEdits(token: token).last?["content"]?.stringValue?.hasPrefix(
                    "Forwarded to")
                    == true
            }
        }
    }

    @Test func registerCommandsOverwritesTheApplicationsCommands() async throws {
        try await ForwardingWorld.run { world in
            let count = try await world.app.app.linking.registerDiscordCommands(applicationID: Int64(Self.app)!)
            #expect(count == 3)
            let names = world.discord.registeredCommands(applicationID: Self.app).compactMap { $0["name"]?.stringValue }
            #expect(names == ["forward", "status", "Forward to…"])
            #expect(try await world.app.app.linking.registerDiscordCommands(applicationID: Int64(Self.app)!) == 3)
        }
    }
}
