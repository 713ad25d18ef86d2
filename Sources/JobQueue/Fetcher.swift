import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// One claim loop and the jobs it started.
final class Fetcher: Sendable {
    struct Running {
        let job: ClaimedJob
        var task: Task<Void, Never>?
        let startedAt: ContinuousClock.Instant
    }

    struct State {
        var running: [Int64: Running] = [:]
        var runningPerLane = [0, 0, 0]
        var outcomes: [JobOutcome] = []
        var hasWork = [true, true, true]
        /// Times each lane was told of new work; a claim that comes back short clears a lane's
        /// `hasWork` only if no news reached the lane while the claim ran (news after the claim's
        /// snapshot would otherwise be lost until the poll).
        var workNews = [0, 0, 0]
        /// When a graceful stop must have handed back what still runs; set by `stop()`.
        var stopDeadline: ContinuousClock.Instant?
        var stopping: Bool { stopDeadline != nil }
        /// The claim loop, which a stop interrupts if it does not end soon.
        var loop: Task<Void, Never>?
        /// Jobs whose lease is gone (reclaimed, cancelled, handed back): their outcome is dropped.
        var abandoned = Set<Int64>()
        var allocator: LaneAllocator
        /// Slots promised to jobs another part of this process is inserting already running
        /// (`reserveLocalStarts`); they count as taken until `adopt` or `release`.
        var reserved = 0
        /// The last claim filled some lane's quota, or left due follow-ups waiting: work is queued
        /// beyond what the loop could take (local starts then keep to the free half).
        var backlog = false
        var free: Int { slots - running.count - reserved }
        let slots: Int

        mutating func markWork(_ lane: Int) {
            hasWork[lane] = true
            workNews[lane] += 1
        }
    }

    let slots: Int
    let queue: JobQueue
    let registry: JobRegistry
    let configuration: WorkerPool.Configuration
    let logger: Logger
    let observer: (any JobObserver)?
    let wakeup = Wakeup()
    /// Internal for the extensions in Fetcher+Shutdown.swift and JobQueue+LocalStarts.swift.
    let state: Mutex<State>

    init(
        slots: Int, queue: JobQueue, registry: JobRegistry, configuration: WorkerPool.Configuration, logger: Logger,
        observer: (any JobObserver)?
    ) {
        self.slots = slots
        self.queue = queue
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        self.observer = observer
        self.state = Mutex(State(allocator: LaneAllocator(weights: configuration.laneWeights), slots: slots))
    }

    var runningCount: Int { state.withLock { $0.running.count } }
    var hasFreeSlots: Bool { state.withLock { $0.free > 0 } }

    /// New jobs may be due in `lanes` (a local enqueue knows which; a NOTIFY does not): those
    /// lanes are worth asking again.
    func newWork(lanes: [Bool] = [true, true, true]) {
        state.withLock { state in
            for lane in 0..<3 where lanes[lane] { state.markWork(lane) }
        }
        wakeup.signal()
    }

    func leaseLost(_ id: Int64) {
        let task = state.withLock { state -> Task<Void, Never>? in
            guard let running = state.running[id] else { return nil }
            state.abandoned.insert(id)
            return running.task
        }
        task?.cancel()
    }

    /// Leases this loop holds: running jobs and finished ones whose outcome is not written yet.
    func heldLeases() -> [(id: Int64, token: Int64)] {
        state.withLock { state in
            state.running.values.map { ($0.job.id, $0.job.leaseToken) } + state.outcomes.map { ($0.id, $0.leaseToken) }
        }
    }

    func run() async {
        // The loop runs in a task of its own, which a stop interrupts if it does not end within a
        // grace (`stop()`); our own cancellation reaches it too. Either way its last write-back's
        // outcomes are kept for the drain to hand back.
        let loop = Task { await self.claimLoop() }
        let stopping = state.withLock { state -> Bool in
            state.loop = loop
            return state.stopping
        }
        if stopping { Self.cancel(loop, after: Self.claimGraceOnStop) }
        await withTaskCancellationHandler {
            await loop.value
        } onCancel: {
            loop.cancel()
        }
        await drain()
    }

    private func claimLoop() async {
        var backoff = Duration.milliseconds(50)
        // Cancellation (the service group gave up waiting) stops claiming like a graceful stop.
        while !state.withLock({ $0.stopping }) && !Task.isCancelled {
            var claimedFull = false
            do {
                claimedFull = try await writeBackAndClaim()
                backoff = .milliseconds(50)
            } catch {
                if Task.isCancelled || state.withLock({ $0.stopping }) { break }
                logger.warning(
                    "job claim loop error; retrying", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
                continue
            }
            if claimedFull { continue }
            await waitForWork()
        }
    }

    /// Writes back finished jobs and claims for the free slots, completions riding on the claim
    /// statement; true when every lane asked filled its quota, or follow-ups it enqueued are due
    /// and were not started (ask again at once).
    private func writeBackAndClaim() async throws -> Bool {
        let outcomes = takeOutcomes()
        // Kept completions are written by a statement of their own, which cannot start anything.
        let due = queue.configuration.keepCompletedJobs ? [0, 0, 0] : Self.dueFollowUps(of: outcomes, accepted: nil)
        let (free, budget, quotas, news) = state.withLock { state -> (Int, Int, [Int], [Int]) in
            let free = state.free
            // Follow-ups due now go first: they continue work already admitted, and starting
            // them in the statement that enqueues them saves each a claim.
            let budget = min(free, due.reduce(0, +))
            let quotas = state.allocator.quotas(
                free: free - budget, running: state.runningPerLane, hasWork: state.hasWork)
            return (free, budget, quotas, state.workNews)
        }
        let requested = quotas.reduce(0, +)
        guard free > 0, requested + budget > 0 else {
            try await writeBack(outcomes)
            return false
        }
        let claim: JobQueue.Claim
        do {
            claim = try await queue.claim(
                limits: quotas, reclaim: max(1, free / 4), lease: configuration.lease, writingBack: outcomes,
                startingFollowUps: budget)
        } catch {
            restoreOutcomes(outcomes)
            throw error
        }
        noteRejected(outcomes.count - claim.writtenBack.count)
        var perLane = [0, 0, 0]
        for job in claim.jobs { perLane[Int(job.lane.rawValue)] += 1 }
        // Due follow-ups the statement enqueued but did not start (not the head of their key, or
        // beyond the budget) are claimable from the next statement on.
        var waiting = Self.dueFollowUps(of: outcomes, accepted: claim.writtenBack)
        for job in claim.startedFollowUps { waiting[Int(job.lane.rawValue)] -= 1 }
        state.withLock { state in
            for lane in 0..<3
            where quotas[lane] > 0 && perLane[lane] < quotas[lane] && state.workNews[lane] == news[lane] {
                state.hasWork[lane] = false
            }
            for lane in 0..<3 where waiting[lane] > 0 { state.markWork(lane) }
            state.backlog =
                waiting.contains { $0 > 0 } || (0..<3).contains { quotas[$0] > 0 && perLane[$0] >= quotas[$0] }
        }
        for job in claim.jobs + claim.startedFollowUps { start(job) }
        let started = claim.jobs.count + claim.startedFollowUps.count
        if waiting.contains(where: { $0 > 0 }) && started < free { return true }
        return !claim.jobs.isEmpty && zip(perLane, quotas).allSatisfy { $0 >= $1 } && started < free
    }

    /// Follow-ups due now per lane among `outcomes`' (only the accepted completions' when given).
    static func dueFollowUps(of outcomes: [JobOutcome], accepted: Set<Int64>?) -> [Int] {
        var lanes = [0, 0, 0]
        for outcome in outcomes where !outcome.followUps.isEmpty && accepted?.contains(outcome.id) ?? true {
            for job in outcome.followUps where job.options.delay <= .zero {
                lanes[Int(job.options.lane.rawValue)] += 1
            }
        }
        return lanes
    }

    private func waitForWork() async {
        await wakeup.wait(timeout: configuration.pollInterval)
        let (busy, anyWork) = state.withLock { state -> (Bool, Bool) in
            (state.running.count > slots / 2, state.hasWork.contains(true))
        }
        if busy {
            // Let more running jobs finish so one claim refills several slots.
            try? await Task.sleep(for: configuration.refillDelay)
        } else if !anyWork {
            // A poll tick (or a finished job with nothing known to be due): ask every lane again.
            state.withLock { $0.hasWork = [true, true, true] }
        }
    }

    func start(_ job: ClaimedJob) {
        state.withLock { state in
            state.running[job.id] = Running(job: job, task: nil, startedAt: .now)
            state.runningPerLane[Int(job.lane.rawValue)] += 1
            state.running[job.id]?.task = Task { await self.execute(job) }
        }
    }

    private func execute(_ job: ClaimedJob) async {
        let started = ContinuousClock.now
        var jobLogger = logger
        jobLogger[metadataKey: "job_id"] = "\(job.id)"
        jobLogger[metadataKey: "job_kind"] = .string(job.kind)
        let outcome: JobOutcome.Kind?
        var followUps: [NewJob] = []
        if job.attempt > job.maxAttempts {
            // Only a reclaimed job gets here: its workers kept dying mid-run.
            outcome = .discarded(
                error: "the job's worker stopped responding on each of \(job.maxAttempts) attempts (lease expired)")
        } else if let entry = registry.entries[job.kind] {
            let context = JobContext(
                id: job.id, kind: job.kind, lane: job.lane, attempt: job.attempt, maxAttempts: job.maxAttempts,
                createdAt: job.createdAt, orderingKey: job.orderingKey, logger: jobLogger)
            do {
                try await entry.run(Data(job.payload.utf8), context)
                outcome = .completed
                followUps = context.completionJobs.take()
            } catch {
                outcome = Task.isCancelled ? nil : Self.classify(error, job: job, policy: entry.policy)
            }
        } else {
            outcome = Self.classify(
                JobError.permanent("no handler for job kind \(job.kind) in this process"), job: job, policy: .default)
        }
        if case .discarded(let error)? = outcome {
            jobLogger.warning("job discarded", metadata: ["error": .string(error), "attempt": "\(job.attempt)"])
        }
        finish(job, outcome: outcome, followUps: followUps, ran: .now - started)
    }

    static func classify(_ error: any Error, job: ClaimedJob, policy: RetryPolicy) -> JobOutcome.Kind {
        switch error {
        case JobError.retryAt(let date, let reason):
            return .retry(runAt: date, spendsAttempt: false, error: reason)
        case JobError.permanent(let reason):
            return .discarded(error: reason)
        default:
            let message = String(describing: error)
            if job.attempt >= job.maxAttempts {
                return .discarded(error: "\(message) (attempt \(job.attempt) of \(job.maxAttempts))")
            }
            let delay = policy.delay(afterAttempt: job.attempt)
            return .retry(runAt: Date().addingTimeInterval(delay.seconds), spendsAttempt: true, error: message)
        }
    }

    private func finish(_ job: ClaimedJob, outcome: JobOutcome.Kind?, followUps: [NewJob], ran: Duration) {
        let recorded = state.withLock { state -> Bool in
            state.running[job.id] = nil
            state.runningPerLane[Int(job.lane.rawValue)] -= 1
            let abandoned = state.abandoned.remove(job.id) != nil
            guard let outcome, !abandoned else { return false }
            state.outcomes.append(
                JobOutcome(id: job.id, leaseToken: job.leaseToken, kind: outcome, followUps: followUps))
            // The next job of its key, if one waits, becomes claimable in the statement that writes
            // this outcome: ask the lane then, even though the last claim found nothing there
            // (that job was not the head yet) and a busy loop does not ask every lane again.
            if job.orderingKey != nil, outcome.endsTheJob { state.markWork(Int(job.lane.rawValue)) }
            return true
        }
        if recorded, let observer, let outcome {
            let waited = Duration.seconds(max(0, Date().timeIntervalSince(job.createdAt) - ran.seconds))
            observer.jobFinished(kind: job.kind, lane: job.lane, outcome: outcome.label, waited: waited, ran: ran)
        }
        wakeup.signal()
    }

    private func takeOutcomes() -> [JobOutcome] {
        state.withLock { state -> [JobOutcome] in
            defer { state.outcomes = [] }
            return state.outcomes
        }
    }

    /// A failed write keeps its outcomes (their leases are still renewed) for the next loop.
    private func restoreOutcomes(_ outcomes: [JobOutcome]) {
        guard !outcomes.isEmpty else { return }
        state.withLock { $0.outcomes.insert(contentsOf: outcomes, at: 0) }
    }

    private func writeBack(_ outcomes: [JobOutcome]) async throws {
        guard !outcomes.isEmpty else { return }
        do {
            let accepted = try await queue.writeBack(outcomes)
            noteRejected(outcomes.count - accepted.count)
            let due = Self.dueFollowUps(of: outcomes, accepted: accepted)
            if due.contains(where: { $0 > 0 }) {
                queue.jobsEnqueued(lanes: Set(Lane.allCases.filter { due[Int($0.rawValue)] > 0 }))
            }
        } catch {
            restoreOutcomes(outcomes)
            throw error
        }
    }

    func flushOutcomes() async throws {
        try await writeBack(takeOutcomes())
    }

    private func noteRejected(_ count: Int) {
        guard count > 0 else { return }
        observer?.writeBacksRejected(count)
        logger.info("job write-backs refused: lease no longer held", metadata: ["count": "\(count)"])
    }
}

extension JobOutcome {
    /// Gives a job back unspent, due at once: what a stop does with work it will not run.
    static func handBack(_ job: ClaimedJob) -> JobOutcome {
        JobOutcome(
            id: job.id, leaseToken: job.leaseToken, kind: .retry(runAt: Date(), spendsAttempt: false, error: nil))
    }
}

extension JobOutcome.Kind {
    /// Completed or discarded: the job leaves its ordering key.
    var endsTheJob: Bool {
        if case .retry = self { return false }
        return true
    }

    var label: JobOutcomeLabel {
        switch self {
        case .completed: .completed
        case .retry(_, let spendsAttempt, let error): spendsAttempt || error != nil ? .retried : .released
        case .discarded: .discarded
        }
    }
}
