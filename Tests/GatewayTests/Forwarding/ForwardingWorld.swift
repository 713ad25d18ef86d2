import DiscordAPI
import Forwarding
import Foundation
import Gateway
import PlatformSimulators
import PostgresNIO
import Store
import TelegramBotAPI
import TestSupport

/// A whole forwarding setup for end-to-end tests: the gateway over HTTPS on a fresh database,
/// the Telegram and Discord simulators on loopback, one user owning a source bot, a second
/// Telegram bot for the destination chat, a Discord webhook and a Discord bot. Updates travel
/// the real way: the Telegram simulator POSTs them to the webhook the gateway registered.
struct ForwardingWorld {
    static let sourceToken = "700001:AAsource_token_for_tests_0123456789"
    static let destinationToken = "700002:AAdestination_token_for_tests_012345"
    static let sourceChat: Int64 = -1_001_000_000_001
    static let destinationChat: Int64 = -1_001_000_000_002
    static let discordChannel = "900000000000000001"
    static let discordBotChannel = "900000000000000002"
    static let discordBotToken = "MTAwMDAwMDAwMDAwMDAwMDAx.simulated.bot-token-for-tests"
    static let webhookID = "950000000000000001"
    static let webhookToken = "simulated-webhook-token-for-tests"
    static let discordApplication = "100000000000000003"
    static let discordGuild = "800000000000000001"

    let app: TestApp
    let database: TestDatabase
    let telegram: TelegramSimulator
    let discord: DiscordSimulator
    let userID: Int64
    let sourceBot: Int64
    let destinationBot: Int64
    let discordWebhook: Int64
    let discordBot: Int64

    enum Destination {
        case telegram
        case discordWebhook
        case discordBot
    }

    /// Runs `body` with everything started, then stops it all and drops the database.
    static func run(
        configure: (inout AppConfig) -> Void = { _ in },
        prepare: (TelegramSimulator, DiscordSimulator) -> Void = { _, _ in },
        _ body: (ForwardingWorld) async throws -> Void
    ) async throws {
        let certificates = try await TestCertificates.shared()
        let telegram = TelegramSimulator(trustingCA: certificates.caPath)
        telegram.addBot(token: sourceToken, id: 700001, username: "afx_source_bot", firstName: "Source")
        telegram.addBot(token: destinationToken, id: 700002, username: "afx_destination_bot", firstName: "Destination")
        telegram.addChat(id: sourceChat, type: .supergroup, title: "Source group")
        telegram.addChat(id: destinationChat, type: .supergroup, title: "Destination group")
        let discord = DiscordSimulator()
        discord.addBot(
            token: discordBotToken, userID: "100000000000000002", applicationID: "100000000000000003",
            username: "afx-discord")
        discord.addChannel(id: discordChannel, guildID: "800000000000000001", name: "general")
        discord.addChannel(id: discordBotChannel, guildID: "800000000000000001", name: "announcements")
        discord.addWebhook(id: webhookID, token: webhookToken, channelID: discordChannel, name: "AFX")
        prepare(telegram, discord)
        let telegramBase = try await telegram.start()
        let discordBase: String
        do {
            discordBase = try await discord.start()
        } catch {
            await telegram.stop()
            throw error
        }
        let database = try await TestDatabase.create(on: TestDatabase.serverURL)
        do {
            try await TestApp.with(database: database.url) { config in
                config.platforms.telegramAPIURL = telegramBase
                config.platforms.discordAPIURL = discordBase + "/api/v10"
                // The simulators do not throttle by default; the tests that need limits set them.
                config.platforms.telegramChatPerSecond = 1000
                config.platforms.telegramGroupPerMinute = 60_000
                config.platforms.telegramBotPerSecond = 1000
                config.platforms.albumWindow = .milliseconds(300)
                config.jobs.pollInterval = .milliseconds(200)
                // Gateway sessions start within a second of linking and reconnect at once.
                config.discord.gatewayLease = .seconds(3)
                config.discord.identifyInterval = .milliseconds(50)
                config.discord.reconnectBase = .milliseconds(50)
                configure(&config)
            } _: { app in
                let user = try await UserRepository(client: app.app.postgres).create(
                    email: "owner@example.test", plan: "elite")
                let linking = app.app.linking
                let source = try await linking.linkTelegramBot(userID: user.id, token: BotToken(sourceToken)!)
                _ = try await linking.setTelegramWebhook(accountID: source.id, publicBaseURL: app.baseURL)
                let destination = try await linking.linkTelegramBot(
                    userID: user.id, token: BotToken(destinationToken)!)
                let webhook = try await linking.linkDiscordWebhook(
                    userID: user.id, url: "\(discordBase)/api/webhooks/\(webhookID)/\(webhookToken)", name: "general")
                let bot = try await linking.linkDiscordBot(
                    userID: user.id, token: DiscordToken(discordBotToken)!,
                    applicationID: Int64(discordApplication),
                    publicKey: discord.applicationPublicKey(discordApplication))
                let world = ForwardingWorld(
                    app: app, database: database, telegram: telegram, discord: discord, userID: user.id,
                    sourceBot: source.id, destinationBot: destination.id, discordWebhook: webhook.id,
                    discordBot: bot.id)
                try await body(world)
            }
        } catch {
            await stopAll(database, telegram, discord)
            throw error
        }
        await stopAll(database, telegram, discord)
    }

    private static func stopAll(_ database: TestDatabase, _ telegram: TelegramSimulator, _ discord: DiscordSimulator)
        async
    {
        await telegram.stop()
        await discord.stop()
        await database.drop()
    }

    // MARK: Pairs

    /// Creates an active pair from the source chat to `destination`.
    @discardableResult
    func pair(to destination: Destination, options: PairOptions = PairOptions(), delaySeconds: Int = 0) async throws
        -> Pair
    {
        let target = endpoint(destination)
        return try await PairRepository(client: app.app.postgres).create(
            Pair(
                id: 0, userID: userID,
                source: .init(platform: .telegram, accountID: sourceBot, chatID: Self.sourceChat),
                destination: target, delaySeconds: delaySeconds, options: options))
    }

    func endpoint(_ destination: Destination) -> Pair.Endpoint {
        switch destination {
        case .telegram:
            .init(platform: .telegram, accountID: destinationBot, chatID: Self.destinationChat)
        case .discordWebhook:
            .init(platform: .discord, accountID: discordWebhook, chatID: Int64(Self.discordChannel)!)
        case .discordBot:
            .init(platform: .discord, accountID: discordBot, chatID: Int64(Self.discordBotChannel)!)
        }
    }

    /// Creates an active pair from a Discord channel (read by the bot's Gateway session).
    @discardableResult
    func discordPair(
        from channel: String = discordChannel, to destination: Destination, options: PairOptions = PairOptions()
    )
        async throws -> Pair
    {
        let target = endpoint(destination)
        return try await PairRepository(client: app.app.postgres).create(
            Pair(
                id: 0, userID: userID,
                source: .init(platform: .discord, accountID: discordBot, chatID: Int64(channel)!),
                destination: target, options: options))
    }

    /// Waits until the bot's Gateway session is connected (identified or resumed).
    func waitForGatewaySession() async throws {
        try await waitUntil("the Discord bot's Gateway session is live") {
            discord.gatewayStats(token: Self.discordBotToken).live == 1
        }
    }

    func pairRecord(_ id: Int64) async throws -> Pair? {
        try await PairRepository(client: app.app.postgres).find(id: id)
    }

    // MARK: Posting in the source chat

    /// A user posts in the source chat; Telegram pushes the update to the gateway's webhook.
    /// Returns the message as Telegram put it in the update.
    @discardableResult
    func post(
        _ text: String? = nil, entities: [TelegramSimulator.Entity] = [], kind: TelegramSimulator.MessageKind = .text,
        fileBytes: Data? = nil, mediaGroupID: String? = nil, replyTo: Int? = nil
    ) async throws -> SimulatorJSON {
        let message = try telegram.injectMessage(
            chatID: Self.sourceChat, text: text, entities: entities, kind: kind, fileBytes: fileBytes,
            mediaGroupID: mediaGroupID, replyToMessageID: replyTo)
        try await deliver(telegram.makeUpdate(message: message))
        return message
    }

    /// The user edits a message they posted: an edited_message update with the new text.
    func edit(_ message: SimulatorJSON, text: String) async throws {
        guard case .object(var object) = message else { throw WorldError("not a message object") }
        object["text"] = .string(text)
        object["entities"] = nil
        object["edit_date"] = .int(Int64(Date().timeIntervalSince1970))
        try await deliver(telegram.makeUpdate(message: .object(object), edited: true))
    }

    /// Delivers an update through the simulator's webhook push and requires a 200.
    func deliver(_ update: SimulatorJSON) async throws {
        let status = try await telegram.deliver(update: update, toBotToken: Self.sourceToken)
        guard status == 200 else { throw WorldError("the webhook answered \(status), not 200") }
    }

    // MARK: Observing

    var discordMessages: [DiscordSimulator.PostedMessage] { discord.messages(inChannel: Self.discordChannel) }
    var discordBotMessages: [DiscordSimulator.PostedMessage] { discord.messages(inChannel: Self.discordBotChannel) }
    var telegramCopies: [TelegramSimulator.SentMessage] { telegram.messages(inChat: Self.destinationChat) }

    /// Polls until `condition` holds; throws after `timeout` saying what was awaited. The
    /// timeout bounds a failing test only; nothing is asserted about speed.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw WorldError("timed out waiting until \(what)")
    }

    /// One integer from a SQL query on the world's database.
    func count(_ sql: String) async throws -> Int {
        let rows = try await app.app.postgres.query(PostgresQuery(unsafeSQL: sql))
        for try await value in rows.decode(Int.self) { return value }
        return 0
    }
}

struct WorldError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
