import DiscordAPI
import Foundation
import JobQueue
import Logging
import Synchronization

/// Where one bot's Gateway session puts what it receives: message events of channels that feed
/// active pairs become stored events with a route job (deduplicated, so a replay after a resume
/// stores nothing twice); guild names are kept for mentions; the resume state waits for the
/// service to persist it.
final class GatewayEventSink: GatewaySessionDelegate {
    let accountID: Int64
    let plan: String
    let runtime: ForwardingRuntime
    let ingest: InboundIngest
    let ownAuthors: @Sendable () -> Set<Int64>
    let identifySlot: @Sendable () async throws -> Void
    let logger: Logger

    struct Names: Sendable {
        var roles: [String: String] = [:]
        var channels: [String: String] = [:]
    }

    private let names = Mutex(Names())
    /// The latest resume state and whether it changed since it was last saved.
    let pendingState = Mutex<(state: GatewayResumeState?, dirty: Bool)>((nil, false))

    init(
        accountID: Int64, plan: String, runtime: ForwardingRuntime, ingest: InboundIngest,
        ownAuthors: @escaping @Sendable () -> Set<Int64>, identifySlot: @escaping @Sendable () async throws -> Void,
        logger: Logger
    ) {
        self.accountID = accountID
        self.plan = plan
        self.runtime = runtime
        self.ingest = ingest
        self.ownAuthors = ownAuthors
        self.identifySlot = identifySlot
        self.logger = logger
    }

    /// Just enough of a message event to decide whether it is ours to route.
    struct Peek: Decodable {
        struct Author: Decodable {
            var id: String
        }
        var id: String
        var channelId: String
        var author: Author?
        var webhookId: String?
        var editedTimestamp: String?
    }

    struct GuildPeek: Decodable {
        struct Named: Decodable {
            var id: String
            var name: String?
        }
        var channels: [Named]?
        var roles: [Named]?
        var threads: [Named]?
    }

    func received(_ dispatch: GatewayDispatch) async throws {
        switch dispatch.event {
        case "GUILD_CREATE", "GUILD_UPDATE", "CHANNEL_CREATE", "CHANNEL_UPDATE", "GUILD_ROLE_CREATE",
            "GUILD_ROLE_UPDATE":
            rememberNames(dispatch)
        case "MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE":
            try await route(dispatch)
        default:
            break
        }
    }

    private func rememberNames(_ dispatch: GatewayDispatch) {
        let data = Data(dispatch.frame.utf8)
        if dispatch.event.hasPrefix("GUILD_ROLE") {
            struct RoleEvent: Decodable { var role: GuildPeek.Named }
            guard let role = try? JSONDecoder.discord.decode(Envelope<RoleEvent>.self, from: data).d.role else {
                return
            }
            names.withLock { $0.roles[role.id] = role.name }
        } else if dispatch.event.hasPrefix("CHANNEL") {
            guard let channel = try? JSONDecoder.discord.decode(Envelope<GuildPeek.Named>.self, from: data).d else {
                return
            }
            names.withLock { $0.channels[channel.id] = channel.name }
        } else if let guild = try? JSONDecoder.discord.decode(Envelope<GuildPeek>.self, from: data).d {
            names.withLock { names in
                for channel in (guild.channels ?? []) + (guild.threads ?? []) {
                    names.channels[channel.id] = channel.name
                }
                for role in guild.roles ?? [] { names.roles[role.id] = role.name }
            }
        }
    }

    private func route(_ dispatch: GatewayDispatch) async throws {
        guard let message = try? JSONDecoder.discord.decode(Envelope<Peek>.self, from: Data(dispatch.frame.utf8)).d,
            let channelID = Int64(message.channelId)
        else { return }
        let own = ownAuthors()
        if let author = message.author.flatMap({ Int64($0.id) }), own.contains(author) { return }
        if let webhook = message.webhookId.flatMap(Int64.init), own.contains(webhook) { return }
        let externalID: String
        switch dispatch.event {
        case "MESSAGE_CREATE": externalID = "create:\(message.id)"
        case "MESSAGE_DELETE": externalID = "delete:\(message.id)"
        default:
            // Embeds unfurling also send MESSAGE_UPDATE; only a real edit has a new edited_timestamp.
            guard let edited = message.editedTimestamp else { return }
            externalID = "edit:\(message.id):\(edited)"
        }
        let pairs = try await runtime.pairs.activePairs(source: .discord, chatID: channelID)
        guard pairs.contains(where: { $0.source.accountID == accountID }) else { return }
        var options = JobOptions(lane: PlanLane.lane(for: plan), orderingKey: "route:discord:\(channelID)")
        options.maxAttempts = RouteJob.defaultRetryPolicy.maxAttempts
        let update = InboundUpdate(
            source: "discord", accountID: accountID, externalID: externalID,
            payload: DiscordStoredEvent.encode(frame: dispatch.frame, names: mentionedNames(in: dispatch.frame)),
            groupKey: nil, routeOptions: options, plan: plan)
        _ = try await ingest.ingest(update)
    }

    /// Names of the roles and channels the text mentions (`<@&id>`, `<#id>`), from the guilds.
    private func mentionedNames(in frame: String) -> DiscordStoredEvent.Names {
        let known = names.withLock { $0 }
        var result = DiscordStoredEvent.Names()
        for id in DiscordMentions.ids(in: frame, prefix: "<@&") { result.roles[id] = known.roles[id] }
        for id in DiscordMentions.ids(in: frame, prefix: "<#") { result.channels[id] = known.channels[id] }
        return result
    }

    func resumeStateChanged(_ state: GatewayResumeState?) async {
        pendingState.withLock { $0 = (state, true) }
    }

    func waitForIdentifySlot() async throws {
        try await identifySlot()
    }

    /// The state to save, if it changed since the last call.
    func takeDirtyState() -> GatewayResumeState?? {
        pendingState.withLock { pending in
            guard pending.dirty else { return nil }
            pending.dirty = false
            return .some(pending.state)
        }
    }
}

struct Envelope<D: Decodable>: Decodable {
    var d: D
}

/// How a Discord message event is stored: the Gateway frame as received, plus the names its
/// mentions need (the guild's roles and channels are only known to the session).
enum DiscordStoredEvent {
    struct Names: Codable, Sendable {
        var roles: [String: String] = [:]
        var channels: [String: String] = [:]
    }

    static func encode(frame: String, names: Names) -> String {
        let namesJSON = (try? JSONEncoder().encode(names)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        // The frame is JSON text as Discord sent it; it is embedded as is.
        return "{\"frame\":\(frame),\"names\":\(namesJSON)}"
    }
}

/// Finds snowflakes in Discord's mention syntax.
enum DiscordMentions {
    /// Ids after `prefix` (`<@`, `<@&`, `<#`) up to the closing `>`; `<@!id>` counts as `<@id>`.
    static func ids(in text: String, prefix: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: prefix) {
            var tail = rest[start.upperBound...]
            if prefix == "<@" {
                if tail.first == "&" {
                    rest = tail
                    continue
                }
                if tail.first == "!" { tail = tail.dropFirst() }
            }
            let digits = tail.prefix(while: { $0.isASCII && $0.isNumber })
            if !digits.isEmpty, tail.dropFirst(digits.count).first == ">" { ids.append(String(digits)) }
            rest = tail
        }
        return ids
    }
}
