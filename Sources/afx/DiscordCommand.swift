import ArgumentParser
import DiscordAPI
import Foundation
import Gateway
import Logging

struct DiscordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discord", abstract: "Link Discord bots and webhooks.",
        subcommands: [AddBot.self, AddWebhook.self, RegisterCommands.self])

    struct AddBot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-bot",
            abstract: "Link a bot to a user: checks the token, stores it encrypted, prints the account id.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "The owning user's id.") var user: Int64
        @Option(help: "A file holding the bot token, or - for standard input.") var tokenFile: String
        @Option(help: "The application id (for slash commands).") var applicationId: Int64?
        @Option(help: "The application's public key, hex (for signed interactions).") var publicKey: String?

        func run() async throws {
            guard let token = DiscordToken(try readSecret(path: tokenFile, what: "bot token")) else {
                throw ValidationError("that is not a Discord bot token")
            }
            try await CLIContext.with(options) { context in
                let account = try await context.linking.linkDiscordBot(
                    userID: user, token: token, applicationID: applicationId, publicKey: publicKey)
                print("Discord bot \(account.username) linked as account \(account.id)")
            }
        }
    }

    struct AddWebhook: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-webhook",
            abstract:
                "Link a channel's incoming webhook (messages show the original author's name); prints the account id.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "The owning user's id.") var user: Int64
        @Option(help: "A file holding the webhook URL, or - for standard input.") var urlFile: String
        @Option(help: "A name to recognise it by.") var name = "webhook"

        func run() async throws {
            let text = try readSecret(path: urlFile, what: "webhook URL")
            guard DiscordWebhookURL(text) != nil else {
                throw ValidationError("that is not a Discord webhook URL (…/api/webhooks/ID/TOKEN)")
            }
            try await CLIContext.with(options) { context in
                let account = try await context.linking.linkDiscordWebhook(userID: user, url: text, name: name)
                print("Discord webhook \(name) linked as account \(account.id)")
            }
        }
    }

    struct RegisterCommands: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register-commands",
            abstract: "Register /forward, /status and \"Forward to…\" for a linked bot's application.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "The application id the bot was linked with.") var app: Int64

        func run() async throws {
            try await CLIContext.with(options) { context in
                let count = try await context.linking.registerDiscordCommands(applicationID: app)
                print("Registered \(count) commands for application \(app)")
            }
        }
    }
}
