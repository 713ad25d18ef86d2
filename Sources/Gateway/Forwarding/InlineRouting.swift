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
/// Only what routing can decide from the update and the chat's pairs: a `/link` command, a chat
/// migration, a pair whose filters drop the message (its "filtered" outcome is logged by the route
/// job), or an update that does not decode get a route job as before, as do Discord events and
/// polled updates. So does a chat whose pairs are not cached and not loaded within `pairsWait`:
/// a request must answer (a 503 when the database is down) without waiting long on a load.
///
/// The first message of a chat whose pairs are not cached (after a start, or after any pair
/// change empties the cache) waits for their load rather than taking a route job: under load a
/// route job takes long enough that the chat's next message finds it still queued and must take
/// one too (its deliveries must not overtake the route job's), and so on. At the start of `bench
/// e2e` (1,000 msg/s) three quarters of the messages went through route jobs for 4–5 s that way,
/// with latency up to a second, before the chats came back to routing here one by one.
struct InlineRouting: Sendable {
    let runtime: ForwardingRuntime

    /// How long a request waits for a chat's pairs that are not cached (a load takes about a
    /// millisecond).
    static let pairsWait = Duration.milliseconds(200)

    /// The update's deliver jobs (none when nothing takes it), or nil for a route job.
    func deliveries(for update: InboundUpdate) async -> [NewJob]? {
        guard update.source == "telegram",
            let decoded = try? JSONDecoder.telegram.decode(TelegramUpdate.self, from: Data(update.payload.utf8))
        else { return nil }
        switch TelegramRoute(decoded) {
        case .nothing:
            return []
        case .linkCommand, .migration:
            return nil
        case .forward(let edit, let telegram):
            guard
                let active = await runtime.pairs.activePairs(
                    source: .telegram, chatID: telegram.chat.id, waitingAtMost: Self.pairsWait)
            else { return nil }
            let pairs = active.filter { $0.source.accountID == update.accountID }
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
