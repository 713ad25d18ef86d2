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
        /// The stored event itself, written by the ingest statement so routing does not read it
        /// back (nil in jobs enqueued before it did).
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
        guard let (kind, telegram) = update.forwardable else { return }
        if kind == .message && TelegramLinkCommand.isLink(telegram) {
            try await TelegramLinkCommand(runtime: runtime).handle(
                telegram, botAccountID: event.accountID, logger: context.logger)
            return
        }
        if let newChatID = telegram.migrateToChatId {
            // The group became a supergroup: pairs follow the new id, nothing is forwarded.
            let moved = try await runtime.pairRepository.migrateTelegramChat(from: telegram.chat.id, to: newChatID)
            runtime.pairs.invalidate()
            context.logger.info("Telegram chat migrated", metadata: ["pairs": "\(moved)", "to": "\(newChatID)"])
            return
        }
        let pairs = try await runtime.pairs.activePairs(source: .telegram, chatID: telegram.chat.id)
            .filter { $0.source.accountID == event.accountID }
        guard !pairs.isEmpty else { return }
        let message = TelegramMessageMapper.message(from: telegram)
        try await enqueueDeliveries(
            pairs: pairs, action: kind.isEdit ? .edit : .create, event: event, sourceChatID: telegram.chat.id,
            sourceMessageID: telegram.messageId, message: message, albumKey: kind.isEdit ? nil : event.groupKey,
            context: context)
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
        var jobs: [NewJob] = []
        var filtered: [Pair] = []
        let plan = PlanTier(rawValue: event.plan) ?? .free
        let gate = runtime.gate
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
                pairID: pair.id, action: action, sourceAccountID: event.accountID, sourceChatID: sourceChatID,
                sourceMessageID: sourceMessageID, message: transformed, receivedAt: event.receivedAt,
                albumKey: albumKey)
            var delay = Duration.seconds(gate.effectiveDelay(plan: plan, pair.delaySeconds))
            if albumKey != nil { delay += runtime.configuration.albumWindow }
            let unique = albumKey.map { "album:\(pair.id):\($0)" } ?? "deliver:\(pair.id):\(event.id)"
            jobs.append(
                try NewJob(
                    DeliverJob.self, payload,
                    options: JobOptions(
                        lane: PlanLane.lane(for: event.plan), delay: delay, uniqueKey: unique,
                        orderingKey: pair.orderingKey)))
        }
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
