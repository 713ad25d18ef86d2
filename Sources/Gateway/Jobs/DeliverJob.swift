import DiscordAPI
import Forwarding
import Foundation
import JobQueue
import Logging
import Store
import TelegramBotAPI

/// Sends one message of one pair to its destination and records the copies. Platform 429s
/// reschedule without spending an attempt, a destination that is gone pauses the pair with the
/// reason, other failures back off.
struct DeliverJob: JobHandler {
    enum Action: String, Codable, Sendable {
        case create, edit, delete
    }

    struct Payload: Codable, Sendable {
        var pairID: Int64
        var action: Action
        var sourceAccountID: Int64
        var sourceChatID: Int64
        var sourceMessageID: Int64
        var message: Message
        /// When the source update reached us (Unix seconds), for delivery latency.
        var receivedAt: Double
        /// Set for an album: its items are gathered from the stored updates when the job runs.
        var albumKey: String?
    }

    static let kind = "forward.deliver"
    static let defaultRetryPolicy = RetryPolicy(maxAttempts: 12, base: .seconds(2), cap: .seconds(600))

    let runtime: ForwardingRuntime

    func handle(_ payload: Payload, context: JobContext) async throws {
        // A deleted pair has nothing left to deliver or to log against.
        guard let pair = try await runtime.pairs.pair(id: payload.pairID) else { return }
        guard pair.status == .active else {
            try await runtime.deliveries.logOutcome(
                userID: pair.userID, pairID: pair.id, sourceMessageID: payload.sourceMessageID,
                event: payload.action.rawValue, outcome: "skipped", error: "the pair is paused")
            return
        }
        do {
            try await deliver(payload, pair: pair, context: context)
        } catch {
            try await handleFailure(error, payload: payload, pair: pair)
        }
    }

    private func deliver(_ payload: Payload, pair: Pair, context: JobContext) async throws {
        var items = [SourceItem(messageID: payload.sourceMessageID, message: payload.message)]
        if let albumKey = payload.albumKey {
            items = try await albumItems(albumKey, payload: payload, pair: pair)
            guard !items.isEmpty else { return }
        }
        let delivery = Delivery(
            runtime: runtime, pair: pair, payload: payload, jobID: context.id, logger: context.logger)
        switch payload.action {
        case .create:
            // A run that sent the copy but died before its completion was written (a killed
            // instance) leaves the job to be claimed again: the copy's links say it was sent.
            // Checked only on later attempts, so the first run costs no extra query.
            if context.attempt > 1, payload.albumKey == nil,
                try await !runtime.deliveries.links(pairID: pair.id, sourceMessageID: payload.sourceMessageID).isEmpty
            {
                context.logger.info("an earlier run of this job delivered the copy; not sending it again")
                return
            }
            let copies =
                switch pair.destination.platform {
                case .telegram: try await TelegramDelivery(delivery).create(items)
                case .discord: try await DiscordDelivery(delivery).create(items)
                }
            guard let first = copies.first else { return }
            try await runtime.recorder.record(
                DeliveryRecord(
                    userID: pair.userID, pairID: pair.id, sourceChatID: payload.sourceChatID,
                    sourceMessageID: first.sourceMessageID, event: "create", copies: copies,
                    latencyMS: delivery.latencyMilliseconds))
            runtime.events.publish(
                LiveEvent(
                    userId: pair.userID, type: "message.forwarded", pairId: pair.id,
                    platform: pair.destination.platform.rawValue, sourceMessageId: first.sourceMessageID,
                    latencyMs: delivery.latencyMilliseconds))
        case .edit:
            let links = try await runtime.deliveries.links(pairID: pair.id, sourceMessageID: payload.sourceMessageID)
            guard !links.isEmpty else {
                // The original was never forwarded (filtered, or sent before the pair existed).
                try await runtime.deliveries.logOutcome(
                    userID: pair.userID, pairID: pair.id, sourceMessageID: payload.sourceMessageID, event: "edit",
                    outcome: "skipped", error: "no copy of the original message")
                return
            }
            switch pair.destination.platform {
            case .telegram: try await TelegramDelivery(delivery).edit(payload.message, links: links)
            case .discord: try await DiscordDelivery(delivery).edit(payload.message, links: links)
            }
            try await runtime.deliveries.logOutcome(
                userID: pair.userID, pairID: pair.id, sourceMessageID: payload.sourceMessageID, event: "edit",
                outcome: "delivered", latencyMS: delivery.latencyMilliseconds)
        case .delete:
            let links = try await runtime.deliveries.links(pairID: pair.id, sourceMessageID: payload.sourceMessageID)
            guard !links.isEmpty else {
                try await runtime.deliveries.logOutcome(
                    userID: pair.userID, pairID: pair.id, sourceMessageID: payload.sourceMessageID, event: "delete",
                    outcome: "skipped", error: "no copy of the original message")
                return
            }
            let kept: [MessageLink]
            switch pair.destination.platform {
            case .telegram: kept = try await TelegramDelivery(delivery).delete(links)
            case .discord: kept = try await DiscordDelivery(delivery).delete(links)
            }
            try await runtime.deliveries.logOutcome(
                userID: pair.userID, pairID: pair.id, sourceMessageID: payload.sourceMessageID, event: "delete",
                outcome: kept.isEmpty ? "delivered" : "skipped",
                error: kept.isEmpty ? nil : "\(kept.count) copies are older than Telegram's 48 h deletion window",
                latencyMS: delivery.latencyMilliseconds)
        }
    }

    /// Every stored item of an album not yet delivered, transformed with the pair's options, the
    /// caption taken from the item that has one.
    private func albumItems(_ key: String, payload: Payload, pair: Pair) async throws -> [SourceItem] {
        let stored = try await InboundEvent.album(
            source: "telegram", accountID: payload.sourceAccountID, groupKey: key, client: runtime.client)
        var messages: [TelegramMessage] = []
        for text in stored {
            guard let update = try? JSONDecoder.telegram.decode(TelegramUpdate.self, from: Data(text.utf8)),
                let (kind, message) = update.forwardable, !kind.isEdit
            else { continue }
            messages.append(message)
        }
        messages.sort { $0.messageId < $1.messageId }
        let already = try await runtime.deliveries.linkedSourceMessages(
            pairID: pair.id, among: messages.map(\.messageId))
        return messages.filter { !already.contains($0.messageId) }.compactMap { telegram in
            let message = TelegramMessageMapper.message(from: telegram)
            // Filters judge the album by its caption; captionless items follow the group.
            if message.text.isEmpty {
                var options = pair.options
                options.includeKeywords = []
                return MessageTransform.apply(options, to: message).map {
                    SourceItem(messageID: telegram.messageId, message: $0)
                }
            }
            return MessageTransform.apply(pair.options, to: message).map {
                SourceItem(messageID: telegram.messageId, message: $0)
            }
        }
    }

    private func handleFailure(_ error: any Error, payload: Payload, pair: Pair) async throws -> Never {
        let failure = DeliveryFailure(error)
        switch failure {
        case .later(let date, let reason):
            throw JobError.retryAt(date, reason: reason)
        case .migrated(let newChatID):
            try await runtime.pairRepository.migrateTelegramChat(from: pair.destination.chatID, to: newChatID)
            runtime.pairs.invalidate()
            throw JobError.retryAt(Date(), reason: "destination chat migrated to \(newChatID)")
        case .destinationGone(let reason):
            // The error log first: whoever sees the pair paused finds the reason logged.
            try await runtime.deliveries.logError(
                userID: pair.userID, pairID: pair.id, source: "deliver", code: "destination_unavailable",
                message: reason)
            try await runtime.pairRepository.setStatus(id: pair.id, .paused, reason: reason)
            runtime.pairs.invalidate()
            runtime.events.publish(LiveEvent(userId: pair.userID, type: "pair.paused", pairId: pair.id, reason: reason))
            try await logFailed(payload, pair: pair, reason: reason)
            throw JobError.permanent("pair \(pair.id) paused: \(reason)")
        case .rejected(let reason):
            try await runtime.deliveries.logError(
                userID: pair.userID, pairID: pair.id, source: "deliver", code: "rejected", message: reason)
            try await logFailed(payload, pair: pair, reason: reason)
            throw JobError.permanent(reason)
        case .transient:
            throw error
        }
    }

    private func logFailed(_ payload: Payload, pair: Pair, reason: String) async throws {
        runtime.events.publish(
            LiveEvent(
                userId: pair.userID, type: "message.failed", pairId: pair.id,
                platform: pair.destination.platform.rawValue, sourceMessageId: payload.sourceMessageID, reason: reason))
        try await runtime.deliveries.logOutcome(
            userID: pair.userID, pairID: pair.id, sourceMessageID: payload.sourceMessageID,
            event: payload.action.rawValue, outcome: "failed", error: reason,
            latencyMS: Int((Date().timeIntervalSince1970 - payload.receivedAt) * 1000))
    }
}

/// One source message to deliver (an album has several).
struct SourceItem: Sendable {
    let messageID: Int64
    let message: Message
}

/// What one delivery knows, shared by the platform-specific senders.
struct Delivery: Sendable {
    let runtime: ForwardingRuntime
    let pair: Pair
    let payload: DeliverJob.Payload
    let jobID: Int64
    let logger: Logger

    var latencyMilliseconds: Int {
        max(0, Int((Date().timeIntervalSince1970 - payload.receivedAt) * 1000))
    }

    /// Reserves tokens for `count` sends, or reschedules the job until they are there.
    func reserve(_ count: Int, under limits: [SendScheduler.Limit]) throws {
        if let wait = runtime.scheduler.reserve(count, under: limits) {
            throw JobError.retryAt(
                Date().addingTimeInterval(wait.secondsDouble), reason: "send rate limit of the destination")
        }
    }

    /// The copy of the replied-to message in the destination, for threading.
    func replyTarget(_ message: Message) async throws -> Int64? {
        guard pair.options.forwardRepliesAsReplies, let replyTo = message.replyToMessageID else { return nil }
        return try await runtime.deliveries.links(pairID: pair.id, sourceMessageID: replyTo).first?.destMessageID
    }
}

/// How a failed send is handled.
enum DeliveryFailure {
    case later(Date, reason: String)
    case migrated(toChatID: Int64)
    case destinationGone(String)
    case rejected(String)
    case transient

    init(_ error: any Error) {
        switch error {
        case let error as TelegramError:
            switch error.kind {
            case .rateLimited(let seconds):
                self = .later(
                    Date().addingTimeInterval(Double(seconds)), reason: "Telegram 429: retry after \(seconds) s")
            case .migrated(let chatID):
                self = .migrated(toChatID: chatID)
            case .rejected where error.isTargetGone:
                self = .destinationGone("Telegram: \(error.message)")
            case .rejected:
                self = .rejected("Telegram refused the message: \(error.message)")
            case .server, .network:
                self = .transient
            }
        case let error as DiscordError:
            switch error.kind {
            case .rateLimited(let seconds, _):
                self = .later(
                    Date().addingTimeInterval(seconds), reason: "Discord rate limit: retry after \(seconds) s")
            case .rejected where error.isTargetGone:
                self = .destinationGone("Discord: \(error.message)\(error.code > 0 ? " (\(error.code))" : "")")
            case .rejected:
                self = .rejected("Discord refused the message: \(error.message)")
            case .server, .network:
                self = .transient
            }
        case let error as DeliveryError:
            self = .destinationGone(error.description)
        default:
            self = .transient
        }
    }
}

/// The pair's configuration cannot work (an account unlinked or its credential unreadable).
struct DeliveryError: Error, CustomStringConvertible {
    let description: String
}
