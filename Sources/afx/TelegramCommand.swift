import ArgumentParser
import Foundation
import Gateway
import Logging
import Store
import TelegramBotAPI

struct TelegramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telegram", abstract: "Link Telegram bots and connect them to the gateway.",
        subcommands: [AddBot.self, SetWebhook.self, Poll.self])

    struct AddBot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-bot",
            abstract: "Link a bot to a user: checks the token with getMe, stores it encrypted, prints the account id.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "The owning user's id.") var user: Int64
        @Option(help: "A file holding the bot token from @BotFather, or - for standard input.") var tokenFile: String

        func run() async throws {
            let text = try readSecret(path: tokenFile, what: "bot token")
            guard let token = BotToken(text) else {
                throw ValidationError("that is not a bot token (expected 123456789:AA… from @BotFather)")
            }
            try await CLIContext.with(options) { context in
                let account = try await context.linking.linkTelegramBot(userID: user, token: token)
                print("Telegram bot @\(account.username) linked as account \(account.id)")
            }
        }
    }

    struct SetWebhook: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-webhook",
            abstract: "Register this gateway's webhook for a bot, with a fresh secret and the forwarded update types.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "The Telegram account id (from add-bot).") var bot: Int64
        @Option(help: "The gateway's public base URL (default: server.publicUrl).") var url: String?

        func run() async throws {
            try await CLIContext.with(options) { context in
                guard let base = url ?? context.config.server.publicURL else {
                    throw Logging.fail("no public URL: pass --url or set server.publicUrl (AFX_SERVER_PUBLIC_URL)")
                }
                let endpoint = try await context.linking.setTelegramWebhook(accountID: bot, publicBaseURL: base)
                print(
                    "webhook of bot \(bot) set to \(endpoint) (updates: \(TelegramUpdate.forwardedTypes.joined(separator: ", ")))"
                )
            }
        }
    }

    struct Poll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Development without a public URL: long-poll getUpdates for a bot and feed the updates in.",
            discussion:
                "Removes the bot's webhook, then stores each update and its route job like the webhook would; run afx serve (or afx work) alongside to forward them. Ctrl-C stops."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: "The Telegram account id (from add-bot).") var bot: Int64

        func run() async throws {
            try await CLIContext.with(options) { context in
                guard let record = try await context.accounts.telegram(id: bot),
                    let token = BotToken(
                        try context.cipher.open(record.tokenCiphertext, context: CredentialCipher.Context.telegramToken)
                    )
                else { throw Logging.fail("no readable Telegram account \(bot)") }
                try await context.platforms.telegram.deleteWebhook(token: token)
                let poller = TelegramPoller(
                    client: context.client, telegram: context.platforms.telegram, accountID: bot, token: token,
                    plan: record.userPlan, logger: context.logger)
                print("polling @\(record.username); Ctrl-C stops")
                try await poller.run(from: record.pollOffset)
            }
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var out = self
        while out.hasSuffix(suffix) { out.removeLast(suffix.count) }
        return out
    }
}
