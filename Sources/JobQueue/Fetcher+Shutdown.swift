import Foundation

/// A claim loop's graceful stop: stop claiming, let running jobs finish within the drain
/// timeout (counted from the stop), hand the rest back. Each step has a bound, so a statement
/// stuck in the database cannot hold the shutdown past its deadline.
extension Fetcher {
    /// How long a stop lets the claim loop end before interrupting it. The loop ends once its
    /// statement in flight answers, within milliseconds; one stuck behind a connection that died
    /// would hold the shutdown for its whole statement timeout. Jobs an interrupted claim took
    /// come back when their leases lapse.
    static let claimGraceOnStop = Duration.seconds(1)

    func stop() {
        let loop = state.withLock { state -> Task<Void, Never>? in
            if !state.stopping { state.stopDeadline = .now + configuration.drainTimeout }
            return state.loop
        }
        wakeup.signal()
        if let loop { Self.cancel(loop, after: Self.claimGraceOnStop) }
    }

    static func cancel(_ loop: Task<Void, Never>, after grace: Duration) {
        Task {
            try? await Task.sleep(for: grace)
            loop.cancel()
        }
    }

    /// How long the drain waits for its hand-back to reach the table. Past it (or once we are
    /// cancelled) the shutdown goes on without it: the hand-back keeps trying in the background,
    /// and jobs it does not reach come back when their leases lapse.
    static let handBackTimeout = Duration.seconds(2)

    /// Stop claiming; let in-flight jobs finish until the drain timeout (counted from the stop);
    /// hand the rest back.
    func drain() async {
        let deadline = state.withLock { $0.stopDeadline } ?? ContinuousClock.now + configuration.drainTimeout
        // Reserved slots count: their jobs are being inserted running, and `adopt` hands them back.
        while state.withLock({ !$0.running.isEmpty || $0.reserved > 0 }) && ContinuousClock.now < deadline
            && !Task.isCancelled
        {
            // Within the drain's deadline: a write-back stuck in the database must not hold it.
            try? await withDeadline(deadline - .now) { try await self.flushOutcomes() }
            await wakeup.wait(timeout: .milliseconds(50))
        }
        let leftovers = state.withLock { state -> [Running] in
            let leftovers = Array(state.running.values)
            for running in leftovers { state.abandoned.insert(running.job.id) }
            return leftovers
        }
        if !leftovers.isEmpty {
            logger.warning("handing back jobs still running at shutdown", metadata: ["count": "\(leftovers.count)"])
            for running in leftovers { running.task?.cancel() }
            let handBack = leftovers.map { JobOutcome.handBack($0.job) }
            state.withLock { $0.outcomes.append(contentsOf: handBack) }
        }
        // Detached from our cancellation: the hand-back should still reach the table.
        let handBack = Task.detached { () -> Bool in
            for _ in 0..<20 {
                do {
                    try await self.flushOutcomes()
                    return true
                } catch {
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            return false
        }
        let written = (try? await withDeadline(Self.handBackTimeout) { await handBack.value }) ?? false
        if !written {
            logger.error(
                "could not write back job outcomes at shutdown; their leases will lapse and they will rerun")
        }
    }
}
