import Forwarding
import Foundation
import JobQueue
import TelegramBotAPI

/// Routes a Telegram update in the webhook request that brings it, so the ingest stores its
/// deliver jobs with it (and starts them at once) instead of a route job for a worker to run
/// first: the message is one job and one claim-loop statement nearer its copy. `InboundIngest`
/// asks only when this process runs workers, which start the deliveries; a web-only process
/// keeps its requests lean and leaves routing to the workers.
///
/// Only what routing can decide from the update and the cached pairs, never waiting on the
/// database (a request must answer, with a 503 when it is down): a `/link` command, a chat
/// migration, a chat whose pairs are not cached (the route job's lookup caches them), a pair whose
/// filters drop the message (its "filtered" outcome is logged by the route job), or an update that
/// does not decode get a route job as before, as do Discord events and polled updates.
struct InlineRouting: Sendable {
    let runtime: ForwardingRuntime

    /// The update's deliver jobs (none when nothing takes it), or nil for a route job.
    func deliveries(for update: InboundUpdate) -> [NewJob]? {
        guard update.source == "telegram",
            let decoded = try? JSONDecoder.telegram.decode(TelegramUpdate.self, from: Data(update.payload.utf8))
        else { return nil }
        switch TelegramRoute(decoded) {
        case .nothing:
            return []
        case .linkCommand, .migration:
            return nil
        case .forward(let edit, let telegram):
            guard let cached = runtime.pairs.cachedActivePairs(source: .telegram, chatID: telegram.chat.id) else {
                return nil
            }
            let pairs = cached.filter { $0.source.accountID == update.accountID }
            guard !pairs.isEmpty else { return [] }
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
