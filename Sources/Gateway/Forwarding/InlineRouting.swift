import Forwarding
import Foundation
import JobQueue
import TelegramBotAPI

/// Routes a Telegram update in the webhook request that brings it, so the ingest stores its
/// deliver jobs with it (and starts them at once) instead of a route job for a worker to run
/// first: the message is one job and one claim-loop statement nearer its copy. `InboundIngest`
/// asks only while this process's workers could start the deliveries; otherwise the request
/// stays lean and a worker routes.
///
/// Only what routing can decide from the update and the cached pairs: a `/link` command, a chat
/// migration, a pair whose filters drop the message (its "filtered" outcome is logged by the route
/// job), an update that does not decode, or a failed pair lookup get a route job as before, as do
/// Discord events and polled updates.
struct InlineRouting: Sendable {
    let runtime: ForwardingRuntime

    /// The update's deliver jobs (none when nothing takes it), or nil for a route job.
    func deliveries(for update: InboundUpdate) async -> [NewJob]? {
        guard update.source == "telegram",
            let decoded = try? JSONDecoder.telegram.decode(TelegramUpdate.self, from: Data(update.payload.utf8)),
            let route = try? await TelegramRoute(decoded, accountID: update.accountID, pairs: runtime.pairs)
        else { return nil }
        switch route {
        case .nothing:
            return []
        case .linkCommand, .migration:
            return nil
        case .deliver(let pairs, let edit, let telegram):
            let source = Deliveries.Source(
                accountID: update.accountID, chatID: telegram.chat.id, messageID: telegram.messageId,
                eventKey: InboundIngest.eventKey, receivedAt: Date().timeIntervalSince1970, plan: update.plan)
            guard
                let (jobs, filtered) = try? Deliveries.plan(
                    pairs: pairs, action: edit ? .edit : .create, source: source,
                    message: TelegramMessageMapper.message(from: telegram), albumKey: edit ? nil : update.groupKey,
                    gate: runtime.gate, albumWindow: runtime.configuration.albumWindow),
                filtered.isEmpty
            else { return nil }
            return jobs
        }
    }
}
