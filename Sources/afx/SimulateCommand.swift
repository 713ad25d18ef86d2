import ArgumentParser
import DiscordAPI
import Forwarding
import Foundation
import Gateway
import PlatformSimulators
import TelegramBotAPI

/// `afx simulate`: the Telegram and Discord simulators on loopback, seeded with bots, chats and
/// a webhook, so a person can watch the whole flow without real tokens. Lines typed on standard
/// input are posted in the simulated Telegram group; whatever the gateway delivers is printed.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the Telegram and Discord simulators on loopback to try forwarding without real tokens.",
        discussion: """
            Start the gateway pointed at the simulators, then link it:
              AFX_PLATFORMS_TELEGRAM_API_URL=http://127.0.0.1:8081 \\
              AFX_PLATFORMS_DISCORD_API_URL=http://127.0.0.1:8082/api/v10 scripts/run
              set -a; . .data/run.env; set +a; afx simulate --link https://localhost:8443
            Type a line to post it in the simulated Telegram group; its copies are printed as they arrive.
            """)

    static let sourceToken = "7000001:SIMULATED-source-bot-token-0000000"
    static let destinationToken = "7000002:SIMULATED-destination-bot-token-00"
    static let discordBotToken = "NzAwMDAwMzAwMDAwMDAwMDAx.simulated.discord-bot-token"
    static let sourceChat: Int64 = -1_007_000_000_001
    static let destinationChat: Int64 = -1_007_000_000_002
    static let discordChannel = "970000000000000001"
    static let discordBotChannel = "970000000000000002"
    static let webhookID = "975000000000000001"
    static let webhookToken = "simulated-webhook-token"

    @OptionGroup var options: ConfigOptions
    @Option(help: "Interface the simulators listen on.") var host = "127.0.0.1"
    @Option(help: "Port of the Telegram Bot API simulator.") var telegramPort = 8081
    @Option(help: "Port of the Discord REST simulator.") var discordPort = 8082
    @Option(help: "CA certificate the Telegram simulator trusts when it calls the gateway's webhook.")
    var ca = "certs/ca.crt"
    @Option(
        help:
            "The gateway's base URL: create a user, link the simulated bots and webhook to it, register the webhook and create pairs (needs DATABASE_URL and AFX_ENCRYPTION_KEY of that gateway)."
    )
    var link: String?

    func run() async throws {
        let telegram = TelegramSimulator(trustingCA: FileManager.default.fileExists(atPath: ca) ? ca : nil)
        telegram.addBot(token: Self.sourceToken, id: 7_000_001, username: "afx_sim_source_bot", firstName: "Source")
        telegram.addBot(
            token: Self.destinationToken, id: 7_000_002, username: "afx_sim_destination_bot", firstName: "Destination")
        telegram.addChat(id: Self.sourceChat, type: .supergroup, title: "Simulated source group")
        telegram.addChat(id: Self.destinationChat, type: .supergroup, title: "Simulated destination group")
        let discord = DiscordSimulator()
        discord.addBot(
            token: Self.discordBotToken, userID: "700000300000000001", applicationID: "700000300000000002",
            username: "afx-sim")
        discord.addChannel(id: Self.discordChannel, guildID: "960000000000000001", name: "general")
        discord.addChannel(id: Self.discordBotChannel, guildID: "960000000000000001", name: "announcements")
        discord.addWebhook(id: Self.webhookID, token: Self.webhookToken, channelID: Self.discordChannel, name: "AFX")

        let telegramBase = try await telegram.start(host: host, port: telegramPort)
        let discordBase = try await discord.start(host: host, port: discordPort)
        let webhookURL = "\(discordBase)/api/webhooks/\(Self.webhookID)/\(Self.webhookToken)"
        say(
            """
            Telegram Bot API simulator: \(telegramBase)
            Discord REST simulator:     \(discordBase)/api/v10
            Point the gateway at them:
              AFX_PLATFORMS_TELEGRAM_API_URL=\(telegramBase)
              AFX_PLATFORMS_DISCORD_API_URL=\(discordBase)/api/v10
            Simulated credentials (fake, loopback only):
              Telegram source bot token       \(Self.sourceToken)   group \(Self.sourceChat)
              Telegram destination bot token  \(Self.destinationToken)   group \(Self.destinationChat)
              Discord bot token               \(Self.discordBotToken)   channel \(Self.discordBotChannel)
              Discord webhook URL             \(webhookURL)   channel \(Self.discordChannel)
            """)

        if let link {
            try await linkGateway(link, telegramBase: telegramBase, discordBase: discordBase, webhookURL: webhookURL)
        }
        say("Type a line and press Enter to post it in the simulated source group (Ctrl-D or Ctrl-C ends).")

        let watcher = Task { await Self.watch(telegram: telegram, discord: discord) }
        let lines = AsyncStream<String> { continuation in
            Thread.detachNewThread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
        }
        // Telegram never reuses an update_id; a restarted simulator must not either, or the
        // gateway would rightly drop its updates as duplicates of an earlier run's.
        var nextUpdateID = Int64(Date().timeIntervalSince1970) * 100
        for await line in lines where !line.isEmpty {
            do {
                let message = try telegram.injectMessage(chatID: Self.sourceChat, text: line)
                guard case .object(var update) = telegram.makeUpdate(message: message) else { continue }
                update["update_id"] = .int(nextUpdateID)
                nextUpdateID += 1
                let status = try await telegram.deliver(update: .object(update), toBotToken: Self.sourceToken)
                say(status == 0 ? "  queued for getUpdates (no webhook set)" : "  webhook answered \(status)")
            } catch {
                say("  not delivered: \(error)")
            }
        }
        // Standard input closed: keep serving until interrupted, for runs in the background.
        try? await Task.sleep(for: .seconds(365 * 86400))
        watcher.cancel()
        await telegram.stop()
        await discord.stop()
    }

    /// Creates a user, links the simulated bots and webhook, registers the Telegram webhook at
    /// `gateway` and pairs the source group with the other three destinations.
    func linkGateway(_ gateway: String, telegramBase: String, discordBase: String, webhookURL: String) async throws {
        try await CLIContext.with(options) { config in
            config.platforms.telegramAPIURL = telegramBase
            config.platforms.telegramFileURL = nil
            config.platforms.discordAPIURL = discordBase + "/api/v10"
        } _: { context in
            if let linked = try await context.accounts.telegram(botUserID: BotToken(Self.sourceToken)!.botID) {
                // Linked by an earlier run against this database: only the webhook needs registering again.
                let endpoint = try await context.linking.setTelegramWebhook(
                    accountID: linked.id, publicBaseURL: gateway)
                say("already linked to user \(linked.userID); Telegram pushes updates to \(endpoint)")
                return
            }
            let user = try await context.users.create(
                email: "simulate-\(UUID().uuidString.prefix(8).lowercased())@example.test", plan: "elite")
            let linking = context.linking
            let source = try await linking.linkTelegramBot(userID: user.id, token: BotToken(Self.sourceToken)!)
            let endpoint = try await linking.setTelegramWebhook(accountID: source.id, publicBaseURL: gateway)
            let destination = try await linking.linkTelegramBot(
                userID: user.id, token: BotToken(Self.destinationToken)!)
            let webhook = try await linking.linkDiscordWebhook(userID: user.id, url: webhookURL, name: "general")
            let bot = try await linking.linkDiscordBot(userID: user.id, token: DiscordToken(Self.discordBotToken)!)
            let from = Pair.Endpoint(platform: .telegram, accountID: source.id, chatID: Self.sourceChat)
            let targets: [Pair.Endpoint] = [
                .init(platform: .telegram, accountID: destination.id, chatID: Self.destinationChat),
                .init(platform: .discord, accountID: webhook.id, chatID: Int64(Self.discordChannel)!),
                .init(platform: .discord, accountID: bot.id, chatID: Int64(Self.discordBotChannel)!),
            ]
            for target in targets {
                let pair = try await context.pairs.create(
                    Pair(id: 0, userID: user.id, name: "simulated", source: from, destination: target))
                say("pair \(pair.id): telegram \(Self.sourceChat) → \(target.platform.rawValue) \(target.chatID)")
            }
            say("user \(user.id) linked; Telegram pushes updates to \(endpoint)")
        }
    }

    /// Prints every message the simulators accept from the gateway, as it arrives.
    static func watch(telegram: TelegramSimulator, discord: DiscordSimulator) async {
        var seenTelegram = 0
        var seen: [String: Int] = [:]
        while !Task.isCancelled {
            let copies = telegram.messages(inChat: destinationChat)
            for copy in copies.dropFirst(seenTelegram) {
                say("→ Telegram \(destinationChat): \(copy.text ?? "[\(copy.kind.rawValue)]")")
            }
            seenTelegram = copies.count
            for channel in [discordChannel, discordBotChannel] {
                let posted = discord.messages(inChannel: channel)
                for message in posted.dropFirst(seen[channel] ?? 0) {
                    let who = message.username.map { " as \($0)" } ?? ""
                    say("→ Discord #\(channel)\(who): \(message.content)")
                }
                seen[channel] = posted.count
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Writes a line to standard output unbuffered, so a piped or logged transcript is current.
private func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
