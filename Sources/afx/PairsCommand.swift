import ArgumentParser
import Forwarding
import Foundation
import Gateway
import Logging
import Store

struct PairsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs", abstract: "Create and manage forwarding pairs (until the API takes over).",
        subcommands: [Add.self, List.self, Pause.self, Resume.self, Remove.self, Logs.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forward from one chat to another.",
            discussion:
                "Endpoints are PLATFORM:ACCOUNT:CHAT, e.g. telegram:3:-1001234567890 or discord:2:112233445566778899.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "The owning user's id.") var user: Int64
        @Option(help: "The source, PLATFORM:ACCOUNT:CHAT.") var from: String
        @Option(help: "The destination, PLATFORM:ACCOUNT:CHAT.") var to: String
        @Option(help: "Seconds to hold each message before forwarding.") var delay = 0
        @Option(help: "A name for the pair.") var name = ""
        @Option(
            name: .customLong("options"),
            help: "Pair options as JSON, e.g. '{\"excludeKeywords\":[\"spam\"],\"showSender\":true}'.")
        var pairOptionsJSON = "{}"
        @Flag(help: "Create the pair even if the user's plan does not allow it (operators only).")
        var ignorePlan = false

        func run() async throws {
            let source = try Self.endpoint(from, "--from")
            let destination = try Self.endpoint(to, "--to")
            let pairOptions: PairOptions
            do {
                pairOptions = try JSONDecoder().decode(PairOptions.self, from: Data(pairOptionsJSON.utf8))
                try pairOptions.validate()
            } catch let error as PairOptionsError {
                throw ValidationError("pair options: \(error.message)")
            } catch {
                throw ValidationError("pair options are not valid JSON")
            }
            guard (0...86400).contains(delay) else { throw ValidationError("--delay must be 0 to 86400 seconds") }
            try await CLIContext.with(options) { context in
                let gate = PlanGate(catalog: try PlanLoader.load(path: context.config.plansFile))
                let ignorePlan = ignorePlan
                let delay = delay
                do {
                    let pair = try await context.pairs.create(
                        Pair(
                            id: 0, userID: user, name: name, source: source, destination: destination,
                            delaySeconds: delay, options: pairOptions)
                    ) { plan, existing in
                        guard !ignorePlan else { return }
                        try gate.checkNewPair(
                            plan: PlanTier(rawValue: plan) ?? .free, existingPairs: existing,
                            source: source.platform, destination: destination.platform, delaySeconds: delay,
                            options: pairOptions)
                    }
                    print("pair \(pair.id) created: \(from) → \(to)")
                } catch let refusal as PlanRefusal {
                    throw ValidationError("\(refusal.message) (--ignore-plan overrides)")
                }
            }
        }

        static func endpoint(_ text: String, _ flag: String) throws -> Pair.Endpoint {
            let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, let platform = Platform(rawValue: parts[0]), let account = Int64(parts[1]),
                let chat = Int64(parts[2])
            else { throw ValidationError("\(flag) must be PLATFORM:ACCOUNT:CHAT with platform telegram or discord") }
            return Pair.Endpoint(platform: platform, accountID: account, chatID: chat)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List pairs with their status (and why a pair is paused).")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Only this user's pairs.") var user: Int64?

        func run() async throws {
            try await CLIContext.with(options) { context in
                let pairs: [Pair]
                if let user {
                    pairs = try await context.pairs.list(userID: user)
                } else {
                    pairs = try await context.pairs.listAll()
                }
                for pair in pairs {
                    let reason = pair.pausedReason.map { " — \($0)" } ?? ""
                    print(
                        "\(pair.id)  user \(pair.userID)  \(describe(pair.source)) → \(describe(pair.destination))  \(pair.status.rawValue)\(reason)"
                    )
                }
                if pairs.isEmpty { print("(no pairs)") }
            }
        }

        func describe(_ endpoint: Pair.Endpoint) -> String {
            "\(endpoint.platform.rawValue):\(endpoint.accountID):\(endpoint.chatID)"
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop forwarding for a pair.")
        @OptionGroup var options: ConfigOptions
        @Argument var id: Int64

        func run() async throws {
            try await CLIContext.with(options) { context in
                try await context.pairs.setStatus(id: id, .paused, reason: "paused by an operator")
                print("pair \(id) paused")
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forward again (clears the pause reason).")
        @OptionGroup var options: ConfigOptions
        @Argument var id: Int64

        func run() async throws {
            try await CLIContext.with(options) { context in
                try await context.pairs.setStatus(id: id, .active)
                print("pair \(id) resumed")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a pair.")
        @OptionGroup var options: ConfigOptions
        @Argument var id: Int64

        func run() async throws {
            try await CLIContext.with(options) { context in
                try await context.pairs.delete(id: id)
                print("pair \(id) removed")
            }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A pair's recent deliveries and errors.")
        @OptionGroup var options: ConfigOptions
        @Argument var id: Int64
        @Option var limit = 20

        func run() async throws {
            try await CLIContext.with(options) { context in
                let deliveries = DeliveryRepository(client: context.client)
                for log in try await deliveries.messageLogs(pairID: id, limit: limit).items {
                    let latency = log.latencyMS.map { " \($0) ms" } ?? ""
                    print(
                        "\(log.createdAt)  \(log.event) \(log.sourceMessageID ?? 0) → \(log.destMessageID ?? 0)  \(log.outcome)\(latency)\(log.error.map { "  \($0)" } ?? "")"
                    )
                }
                for error in try await deliveries.errorLogs(pairID: id, limit: limit).items {
                    print("\(error.createdAt)  ERROR \(error.code): \(error.message)")
                }
            }
        }
    }
}
