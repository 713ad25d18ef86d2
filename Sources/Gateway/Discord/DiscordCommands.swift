import DiscordAPI
import Forwarding
import Foundation
import JobQueue
import Store

/// The slash commands (`/forward add|list|pause|resume|remove`, `/status`) and the message
/// command "Forward to…", acting for the user who linked the application's bot. Only members
/// who may manage the server use them; answers are ephemeral.
struct DiscordCommands: Sendable {
    let runtime: ForwardingRuntime
    let accountRepository: AccountRepository
    let target: AccountDirectory.DiscordTarget

    static let forwardToName = "Forward to…"

    /// What `afx discord register-commands` registers.
    static let definitions: [DiscordCommandDefinition] = {
        typealias Option = DiscordCommandDefinition.Option
        let pairOption = Option(
            type: 4, name: "pair", description: "The pair's number (see /forward list)", required: true)
        return [
            DiscordCommandDefinition(
                name: "forward", type: 1, description: "Manage what this server forwards",
                options: [
                    Option(
                        type: 1, name: "add", description: "Forward a channel to a Telegram chat or another channel",
                        options: [
                            Option(
                                type: 7, name: "to_channel", description: "A Discord channel to copy to",
                                channelTypes: [0, 5]),
                            Option(type: 3, name: "to_telegram", description: "A Telegram chat id to copy to"),
                            Option(
                                type: 7, name: "from", description: "The channel to copy from (default: this one)",
                                channelTypes: [0, 5]),
                            Option(type: 3, name: "name", description: "A name for the pair"),
                        ]),
                    Option(type: 1, name: "list", description: "List the pairs of this bot"),
                    Option(type: 1, name: "pause", description: "Pause a pair", options: [pairOption]),
                    Option(type: 1, name: "resume", description: "Resume a pair", options: [pairOption]),
                    Option(type: 1, name: "remove", description: "Delete a pair", options: [pairOption]),
                ]),
            DiscordCommandDefinition(name: "status", type: 1, description: "Forwarding status of this bot's pairs"),
            DiscordCommandDefinition(name: forwardToName, type: 3, description: ""),
        ]
    }()

    func command(_ interaction: DiscordInteraction) async throws -> InteractionResponse {
        guard interaction.guildId != nil else { return .message("Use this command in a server channel.") }
        guard interaction.canManageServer else {
            return .message("You need the Manage Server permission to change forwarding.")
        }
        let data = interaction.data
        if data?.type == 3 || data?.name == Self.forwardToName {
            return try await forwardMenu(interaction)
        }
        switch data?.name {
        case "status":
            try await enqueueFollowUp(.status, interaction: interaction)
            return .deferred()
        case "forward":
            guard let sub = data?.options?.first else { return .message("Choose add, list, pause, resume or remove.") }
            let options = Dictionary(
                (sub.options ?? []).compactMap { option in option.value.map { (option.name, $0.text) } },
                uniquingKeysWith: { first, _ in first })
            switch sub.name {
            case "add": return try await add(options, interaction: interaction)
            case "list": return try await list()
            case "pause": return try await setStatus(options["pair"], .paused)
            case "resume": return try await setStatus(options["pair"], .active)
            case "remove": return try await remove(options["pair"])
            default: return .message("Unknown subcommand \(sub.name).")
            }
        default:
            return .message("Unknown command.")
        }
    }

    private func add(_ options: [String: String], interaction: DiscordInteraction) async throws -> InteractionResponse {
        guard let from = (options["from"] ?? interaction.channelId).flatMap(Int64.init) else {
            return .message("Which channel should be forwarded? Give `from`.")
        }
        let destination: Pair.Endpoint
        switch (options["to_channel"].flatMap(Int64.init), options["to_telegram"]) {
        case (let channel?, nil):
            guard channel != from else { return .message("A channel cannot forward to itself.") }
            destination = Pair.Endpoint(platform: .discord, accountID: target.id, chatID: channel)
        case (nil, let chat?):
            guard let chatID = Int64(chat.trimmingCharacters(in: .whitespaces)) else {
                return .message("`to_telegram` must be a numeric Telegram chat id, like -1001234567890.")
            }
            let bots = try await accountRepository.telegram(userID: target.userID).filter { $0.status == "active" }
            guard !bots.isEmpty else {
                return .message("Link a Telegram bot to your AutoForwardX account first; it posts the copies.")
            }
            guard let bot = await firstBot(in: chatID, among: bots.map(\.id)) else {
                return .message(
                    "None of your Telegram bots is in chat \(chatID). Add one to the chat (as an admin in channels).")
            }
            destination = Pair.Endpoint(platform: .telegram, accountID: bot, chatID: chatID)
        default:
            return .message("Give exactly one destination: `to_channel` or `to_telegram`.")
        }
        let name = options["name"].map { String($0.prefix(100)) } ?? "Discord \(from) → \(destination.chatID)"
        let gate = runtime.gate
        do {
            let pair = try await runtime.pairRepository.create(
                Pair(
                    id: 0, userID: target.userID, name: name,
                    source: Pair.Endpoint(platform: .discord, accountID: target.id, chatID: from),
                    destination: destination)
            ) { plan, existing in
                try gate.checkNewPair(
                    plan: PlanTier(rawValue: plan) ?? .free, existingPairs: existing, source: .discord,
                    destination: destination.platform, delaySeconds: 0, options: PairOptions())
            }
            runtime.pairs.invalidate()
            return .message("Pair #\(pair.id) created: <#\(from)> → \(describe(pair.destination)).")
        } catch let error as StoreError {
            return .message("Could not create the pair: \(error).")
        } catch let refusal as PlanRefusal {
            return .message("Could not create the pair: \(refusal.message).")
        }
    }

    /// The first of the user's bots that can see the chat (Telegram answers getChat only to members).
    private func firstBot(in chatID: Int64, among accounts: [Int64]) async -> Int64? {
        for id in accounts {
            guard let bot = try? await runtime.accounts.telegram(id: id) else { continue }
            if (try? await runtime.platforms.telegram.getChat(chatID: chatID, token: bot.token)) != nil { return id }
        }
        return nil
    }

    private func list() async throws -> InteractionResponse {
        let pairs = try await ownPairs()
        guard !pairs.isEmpty else { return .message("No pairs yet. Create one with `/forward add`.") }
        let lines = pairs.prefix(25).map { pair in
            "#\(pair.id) \(pair.name): <#\(pair.source.chatID)> → \(describe(pair.destination))"
                + (pair.status == .paused ? " (paused\(pair.pausedReason.map { ": \($0)" } ?? ""))" : "")
        }
        let more = pairs.count > 25 ? "\n…and \(pairs.count - 25) more." : ""
        return .message(String((lines.joined(separator: "\n") + more).prefix(2000)))
    }

    private func setStatus(_ id: String?, _ status: Pair.Status) async throws -> InteractionResponse {
        guard let pair = try await ownPair(id) else { return .message("No such pair of this bot.") }
        if status == .active {
            let gate = runtime.gate
            do {
                _ = try await runtime.pairRepository.resume(userID: pair.userID, ids: [pair.id]) {
                    plan, active, pairs in
                    for pair in pairs {
                        try gate.checkResume(plan: PlanTier(rawValue: plan) ?? .free, activePairs: active, pair: pair)
                    }
                }
            } catch let refusal as PlanRefusal {
                return .message("Could not resume pair #\(pair.id): \(refusal.message).")
            }
        } else {
            try await runtime.pairRepository.setStatus(id: pair.id, .paused, reason: "paused from Discord")
        }
        runtime.pairs.invalidate()
        return .message("Pair #\(pair.id) \(status == .paused ? "paused" : "resumed").")
    }

    private func remove(_ id: String?) async throws -> InteractionResponse {
        guard let pair = try await ownPair(id) else { return .message("No such pair of this bot.") }
        try await runtime.pairRepository.delete(id: pair.id)
        runtime.pairs.invalidate()
        return .message("Pair #\(pair.id) deleted.")
    }

    /// "Forward to…": a menu of the pairs this message could go through.
    private func forwardMenu(_ interaction: DiscordInteraction) async throws -> InteractionResponse {
        guard let messageID = interaction.data?.targetId, let channelID = interaction.channelId else {
            return .message("Discord sent no target message.")
        }
        // Pairs reading from this bot know how to fetch its messages and media.
        let pairs = try await ownPairs().filter {
            $0.status == .active && $0.source.platform == .discord && $0.source.accountID == target.id
        }
        guard !pairs.isEmpty else { return .message("No active pairs to forward through.") }
        let menu = SelectMenuRow(
            customID: "forward:\(channelID):\(messageID)", placeholder: "Choose a pair",
            choices: pairs.prefix(25).map { .init(label: String($0.name.prefix(100)), value: String($0.id)) })
        let response = InteractionResponse(type: 4, content: "Forward this message to:", components: [menu])
        return response
    }

    /// The pair chosen in the "Forward to…" menu: the copy is made by a job, and the menu says so.
    func component(_ interaction: DiscordInteraction) async throws -> InteractionResponse {
        guard interaction.canManageServer else {
            return .message("You need the Manage Server permission to forward messages.")
        }
        let parts = (interaction.data?.customId ?? "").split(separator: ":")
        guard parts.count == 3, parts[0] == "forward", let channelID = Int64(parts[1]), let messageID = Int64(parts[2]),
            let pair = try await ownPair(interaction.data?.values?.first)
        else { return InteractionResponse(type: 7, content: "That choice is no longer valid.", components: []) }
        try await enqueueFollowUp(
            .forward(channelID: channelID, messageID: messageID, pairID: pair.id), interaction: interaction)
        return InteractionResponse(type: 7, content: "Forwarding to \(pair.name)…", components: [])
    }

    private func enqueueFollowUp(_ work: InteractionFollowUpJob.Work, interaction: DiscordInteraction) async throws {
        _ = try await runtime.queue.enqueue(
            try NewJob(
                InteractionFollowUpJob.self,
                InteractionFollowUpJob.Payload(
                    accountID: target.id, applicationID: interaction.applicationId, token: interaction.token,
                    work: work),
                options: JobOptions(lane: .high, uniqueKey: "interaction:\(interaction.id)")))
    }

    private func ownPairs() async throws -> [Pair] {
        try await runtime.pairRepository.list(userID: target.userID).filter {
            ($0.source.platform == .discord && $0.source.accountID == target.id)
                || ($0.destination.platform == .discord && $0.destination.accountID == target.id)
        }
    }

    private func ownPair(_ id: String?) async throws -> Pair? {
        guard let id = id.flatMap(Int64.init) else { return nil }
        return try await ownPairs().first { $0.id == id }
    }

    private func describe(_ endpoint: Pair.Endpoint) -> String {
        endpoint.platform == .discord ? "<#\(endpoint.chatID)>" : "Telegram chat \(endpoint.chatID)"
    }
}
