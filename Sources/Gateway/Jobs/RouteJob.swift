import DiscordAPI
import Forwarding
import Foundation
import JobQueue
import Logging
import PostgresNIO
import Store
import TelegramBotAPI

/// Fans one inbound message out: the active pairs of its source chat, each through its filters,
/// become one deliver job each, ordered per pair and delayed by the pair's delay.
struct RouteJob: JobHandler {
    struct Payload: Codable, Sendable {
        var eventID: Int64
        /// The stored event itself, written by the ingest statement into a route job it starts
        /// at once, so routing does not read it back; nil in one left for a claim (and in jobs
        /// enqueued by other paths), which loads the event by its id.
        var event: Event?

        struct Event: Codable, Sendable {
            var source: String
            var accountID: Int64
            var update: String
            var receivedAt: Double
            var groupKey: String?
            var plan: String
        }
    }

    static let kind = "forward.route"
    static let defaultRetryPolicy = RetryPolicy(maxAttempts: 10, base: .seconds(1), cap: .seconds(300))

    let runtime: ForwardingRuntime

    func handle(_ payload: Payload, context: JobContext) async throws {
        let event: InboundEvent
        if let inline = payload.event {
            event = InboundEvent(
                id: payload.eventID, source: inline.source, accountID: inline.accountID, payload: inline.update,
                receivedAt: inline.receivedAt, groupKey: inline.groupKey, plan: inline.plan)
        } else if let stored = try await InboundEvent.load(id: payload.eventID, client: runtime.client) {
            event = stored
        } else {
            context.logger.info("inbound event no longer exists; nothing to route")
            return
        }
        switch event.source {
        case "telegram":
            try await routeTelegram(event, context: context)
        case "discord":
            try await routeDiscord(event, context: context)
        default:
            throw JobError.permanent("no router for events from \(event.source)")
        }
    }

    private func routeTelegram(_ event: InboundEvent, context: JobContext) async throws {
        let update: TelegramUpdate
        do {
            update = try JSONDecoder.telegram.decode(TelegramUpdate.self, from: Data(event.payload.utf8))
        } catch {
            throw JobError.permanent("the stored update does not decode: \(error)")
        }
        switch TelegramRoute(update) {
        case .nothing:
            return
        case .linkCommand(let telegram):
            try await TelegramLinkCommand(runtime: runtime).handle(
                telegram, botAccountID: event.accountID, logger: context.logger)
        case .migration(let chatID, let newChatID):
            // The group became a supergroup: pairs follow the new id, nothing is forwarded.
            let moved = try await runtime.pairRepository.migrateTelegramChat(from: chatID, to: newChatID)
            runtime.pairs.invalidate()
            context.logger.info("Telegram chat migrated", metadata: ["pairs": "\(moved)", "to": "\(newChatID)"])
        case .forward(let edit, let telegram):
            let pairs = try await runtime.pairs.activePairs(source: .telegram, chatID: telegram.chat.id)
                .filter { $0.source.accountID == event.accountID }
            guard !pairs.isEmpty else { return }
            try await enqueueDeliveries(
                pairs: pairs, action: edit ? .edit : .create, event: event, sourceChatID: telegram.chat.id,
                sourceMessageID: telegram.messageId, message: TelegramMessageMapper.message(from: telegram),
                albumKey: edit ? nil : event.groupKey, context: context)
        }
    }

    /// A stored Gateway event: MESSAGE_CREATE, MESSAGE_UPDATE or MESSAGE_DELETE.
    private func routeDiscord(_ event: InboundEvent, context: JobContext) async throws {
        struct Stored: Decodable {
            struct Frame: Decodable {
                var t: String
                var d: DiscordGatewayMessage
            }
            var frame: Frame
            var names: DiscordStoredEvent.Names?
        }
        let stored: Stored
        do {
            stored = try JSONDecoder.discord.decode(Stored.self, from: Data(event.payload.utf8))
        } catch {
            throw JobError.permanent("the stored Discord event does not decode: \(error)")
        }
        guard let channelID = Int64(stored.frame.d.channelId), let messageID = Int64(stored.frame.d.id) else {
            throw JobError.permanent("the stored Discord event has no channel or message id")
        }
        let action: DeliverJob.Action
        switch stored.frame.t {
        case "MESSAGE_CREATE": action = .create
        case "MESSAGE_UPDATE": action = .edit
        case "MESSAGE_DELETE": action = .delete
        default: return
        }
        let pairs = try await runtime.pairs.activePairs(source: .discord, chatID: channelID)
            .filter { $0.source.accountID == event.accountID }
        guard !pairs.isEmpty else { return }
        let message =
            action == .delete
            ? Message() : DiscordMessageMapper.message(from: stored.frame.d, names: stored.names ?? .init())
        try await enqueueDeliveries(
            pairs: pairs, action: action, event: event, sourceChatID: channelID, sourceMessageID: messageID,
            message: message, albumKey: nil, context: context)
    }

    /// One deliver job per pair that takes the message (edits and deletes only where the pair keeps
    /// copies in sync), ordered per pair and delayed by its delay; filtered ones are logged.
    private func enqueueDeliveries(
        pairs: [Pair], action: DeliverJob.Action, event: InboundEvent, sourceChatID: Int64, sourceMessageID: Int64,
        message: Message, albumKey: String?, context: JobContext
    ) async throws {
        let (jobs, filtered) = try Deliveries.plan(
            pairs: pairs, action: action,
            source: .init(
                accountID: event.accountID, chatID: sourceChatID, messageID: sourceMessageID, eventKey: "\(event.id)",
                receivedAt: event.receivedAt, plan: event.plan),
            message: message, albumKey: albumKey, gate: runtime.gate, albumWindow: runtime.configuration.albumWindow)
        // Written with this route job's completion, in its statement: a route whose completion is
        // lost runs again and enqueues them then, once.
        context.enqueueOnCompletion(jobs)
        for pair in filtered {
            try await runtime.deliveries.logOutcome(
                userID: pair.userID, pairID: pair.id, sourceMessageID: sourceMessageID,
                event: action.rawValue, outcome: "filtered")
        }
    }
}

/// What a Telegram update asks of routing, decided from the update alone.
enum TelegramRoute {
    /// Not a message we forward.
    case nothing
    /// A `/link` command in a chat (it links the chat to a user's account).
    case linkCommand(TelegramMessage)
    /// The group became a supergroup: its pairs follow the new chat id.
    case migration(chatID: Int64, to: Int64)
    /// Copy the message (or its edit) to the chat's pairs' destinations.
    case forward(edit: Bool, TelegramMessage)

    init(_ update: TelegramUpdate) {
        guard let (kind, telegram) = update.forwardable else {
            self = .nothing
            return
        }
        if kind == .message && TelegramLinkCommand.isLink(telegram) {
            self = .linkCommand(telegram)
        } else if let newChatID = telegram.migrateToChatId {
            self = .migration(chatID: telegram.chat.id, to: newChatID)
        } else {
            self = .forward(edit: kind.isEdit, telegram)
        }
    }
}

/// The deliver jobs one inbound message becomes: one per pair whose plan routes it and whose
/// filters take it (edits only where the pair keeps copies in sync), on the owner's plan's lane,
/// ordered per pair and delayed by the pair's delay (albums by the album window as well).
enum Deliveries {
    struct Source {
        let accountID: Int64
        let chatID: Int64
        let messageID: Int64
        /// The stored event's id in the jobs' unique keys (`InboundIngest` passes a placeholder its
        /// statement fills in).
        let eventKey: String
        let receivedAt: Double
        let plan: String
    }

    /// The jobs, and the pairs whose filters dropped the message.
    static func plan(
        pairs: [Pair], action: DeliverJob.Action, source: Source, message: Message, albumKey: String?,
        gate: PlanGate, albumWindow: Duration
    ) throws -> (jobs: [NewJob], filtered: [Pair]) {
        var jobs: [NewJob] = []
        var filtered: [Pair] = []
        let plan = PlanTier(rawValue: source.plan) ?? .free
        for pair in pairs
        where gate.allowsRoute(plan: plan, source: pair.source.platform, destination: pair.destination.platform) {
            let options = gate.effectiveOptions(plan: plan, pair.options)
            if action != .create && !options.forwardEdits { continue }
            let transformed: Message
            if action == .delete {
                transformed = message
            } else if let applied = MessageTransform.apply(options, to: message) {
                transformed = applied
            } else {
                filtered.append(pair)
                continue
            }
            let payload = DeliverJob.Payload(
                pairID: pair.id, action: action, sourceAccountID: source.accountID, sourceChatID: source.chatID,
                sourceMessageID: source.messageID, message: transformed, receivedAt: source.receivedAt,
                albumKey: albumKey)
            var delay = Duration.seconds(gate.effectiveDelay(plan: plan, pair.delaySeconds))
            if albumKey != nil { delay += albumWindow }
            let unique = albumKey.map { "album:\(pair.id):\($0)" } ?? "deliver:\(pair.id):\(source.eventKey)"
            jobs.append(
                try NewJob(
                    DeliverJob.self, payload,
                    options: JobOptions(
                        lane: PlanLane.lane(for: source.plan), delay: delay, uniqueKey: unique,
                        orderingKey: pair.orderingKey)))
        }
        return (jobs, filtered)
    }
}

/// A stored inbound update.
struct InboundEvent: Sendable {
    let id: Int64
    let source: String
    let accountID: Int64
    let payload: String
    let receivedAt: Double
    let groupKey: String?
    /// The plan of the account's owner (picks lanes).
    let plan: String

    static func load(id: Int64, client: PostgresClient) async throws -> InboundEvent? {
        for try await event in try await client.execute(LoadInboundEvent(id: id)) { return event }
        return nil
    }

    /// The album items stored so far for a group, oldest message first.
    static func album(source: String, accountID: Int64, groupKey: String, client: PostgresClient) async throws
        -> [String]
    {
        try await client.query(
            """
            SELECT payload::text FROM inbound_events
            WHERE source = \(source) AND account_id = \(accountID) AND group_key = \(groupKey)
            ORDER BY id
            """
        ).collect().map { try $0.decode(String.self) }
    }
}

/// Loads one stored update for its route job: a prepared statement, planned once per connection,
/// as it runs for every inbound message.
struct LoadInboundEvent: PostgresPreparedStatement {
    typealias Row = InboundEvent

    static let sql = """
        SELECT e.id, e.source, e.account_id, e.payload::text, extract(epoch FROM e.received_at)::float8, e.group_key,
            coalesce(u.plan::text, 'free')
        FROM inbound_events e
        LEFT JOIN telegram_accounts t ON e.source = 'telegram' AND t.id = e.account_id
        LEFT JOIN discord_accounts d ON e.source = 'discord' AND d.id = e.account_id
        LEFT JOIN users u ON u.id = coalesce(t.user_id, d.user_id)
        WHERE e.id = $1
        """

    let id: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(id)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> InboundEvent {
        let r = try row.decode((Int64, String, Int64, String, Double, String?, String).self)
        return InboundEvent(
            id: r.0, source: r.1, accountID: r.2, payload: r.3, receivedAt: r.4, groupKey: r.5, plan: r.6)
    }
}
