import Foundation
import Synchronization

/// Slots reserved on one of this process's claim loops for jobs a caller inserts already running
/// with its own SQL, saving each a claim. Insert at most `count` jobs with state `running`,
/// attempt 1, `lease_token = token` and `lease_expires_at = now() + leaseMilliseconds`, only
/// where the job heads its ordering key (no other available or running job of the key, and first
/// of its key in the batch), then call `start` with the rows inserted running, or `release` when
/// the insert failed: exactly one of the two, once.
///
/// A job inserted running but never handed over (the statement timed out yet committed, or the
/// process died) comes back when its lease lapses, like a job whose worker died.
public struct LocalStarts: Sendable {
    public let count: Int
    public let token: Int64
    public let leaseMilliseconds: Int64
    let fetcher: Fetcher

    /// Starts the jobs inserted running under this reservation and frees the slots they did not
    /// take.
    public func start(_ jobs: [ClaimedJob]) {
        fetcher.adopt(jobs, reserved: count)
    }

    /// Frees the reservation: nothing was inserted running.
    public func release() {
        fetcher.release(count)
    }
}

/// A running worker pool's way to reserve `LocalStarts` (at most one per queue and process).
struct LocalStarter: Sendable {
    let id: UUID
    let reserve: @Sendable (Int) -> LocalStarts?
}

extension JobQueue {
    /// Reserves up to `count` slots on a local claim loop; nil when this process runs no workers,
    /// or they are stopping or busy (no free slot, or half their slots taken while work is queued:
    /// see `Fetcher.reserve`).
    public func reserveLocalStarts(upTo count: Int) -> LocalStarts? {
        guard count > 0, let starter = localStarter.withLock({ $0 }) else { return nil }
        return starter.reserve(count)
    }

    /// Whether this process runs workers for this queue (which can start what it inserts).
    public var hasLocalWorkers: Bool { localStarter.withLock { $0 != nil } }

    /// Installed by a running worker pool; returns what removes it again.
    func installLocalStarter(_ reserve: @escaping @Sendable (Int) -> LocalStarts?) -> @Sendable () -> Void {
        let starter = LocalStarter(id: UUID(), reserve: reserve)
        localStarter.withLock { $0 = starter }
        return { [self] in
            localStarter.withLock { current in
                if current?.id == starter.id { current = nil }
            }
        }
    }
}

/// A claim loop's side of `LocalStarts`.
extension Fetcher {
    var freeSlots: Int { state.withLock { $0.stopping ? 0 : max(0, $0.free) } }

    /// Promises up to `count` slots to jobs being inserted already running; returns how many.
    /// Any free slot while the queue has no backlog (the loop's last claim took all it found);
    /// with one, only while fewer than half the slots are taken: past that, new work waits its
    /// turn in the queue behind the work already admitted (follow-ups first, lanes by weight)
    /// rather than pushing ahead of it.
    func reserve(_ count: Int) -> Int {
        state.withLock { state in
            guard !state.stopping else { return 0 }
            let granted = max(0, min(count, state.free - (state.backlog ? slots / 2 : 0)))
            state.reserved += granted
            return granted
        }
    }

    /// Gives back `count` reserved slots that `adopt` will not fill.
    func release(_ count: Int) {
        state.withLock { $0.reserved -= count }
    }

    /// Starts jobs inserted already running under a reservation of `reserved` slots (the caller's
    /// SQL inserts no more than that). Once stopping, they are handed back instead: the drain
    /// writes them back if it is still under way, and otherwise they return when their leases
    /// lapse.
    func adopt(_ jobs: [ClaimedJob], reserved: Int) {
        let stopping = state.withLock { state -> Bool in
            state.reserved -= reserved
            if state.stopping {
                state.outcomes.append(contentsOf: jobs.map(JobOutcome.handBack))
            }
            return state.stopping
        }
        if stopping {
            wakeup.signal()
            return
        }
        for job in jobs { start(job) }
    }
}
