import Synchronization

/// Collects single enqueues from concurrent callers into batches for the flushers. A flush starts
/// as soon as a flusher is free and takes everything queued (up to `maxBatch`), so batches grow
/// with load and a lone enqueue waits for one INSERT only.
final class GroupCommitter: Sendable {
    struct Waiter: Sendable {
        let job: NewJob
        let continuation: CheckedContinuation<EnqueueResult, any Error>
    }

    private struct State {
        var running = false
        var stopping = false
        var pending: [Waiter] = []
        var idleFlushers: [CheckedContinuation<[Waiter]?, Never>] = []
        var batches = 0
    }

    private let state = Mutex(State())
    let maxBatch: Int

    init(maxBatch: Int) {
        self.maxBatch = maxBatch
    }

    var isRunning: Bool { state.withLock { $0.running && !$0.stopping } }

    /// Batches handed to flushers so far.
    var batchCount: Int { state.withLock { $0.batches } }

    func start() {
        state.withLock { $0.running = true }
    }

    /// Stops accepting; flushers drain what is queued, then `nextBatch` returns nil.
    func stop() {
        let idle = state.withLock { state -> [CheckedContinuation<[Waiter]?, Never>] in
            state.stopping = true
            guard state.pending.isEmpty else { return [] }
            defer { state.idleFlushers = [] }
            return state.idleFlushers
        }
        for flusher in idle { flusher.resume(returning: nil) }
    }

    func submit(_ job: NewJob) async throws -> EnqueueResult {
        try await withCheckedThrowingContinuation { continuation in
            let handOff = state.withLock { state -> (CheckedContinuation<[Waiter]?, Never>, [Waiter])? in
                state.pending.append(Waiter(job: job, continuation: continuation))
                guard !state.idleFlushers.isEmpty else { return nil }
                return (state.idleFlushers.removeFirst(), takeBatch(&state))
            }
            if let (flusher, batch) = handOff { flusher.resume(returning: batch) }
        }
    }

    /// The next batch for a flusher; nil once stopped and drained.
    func nextBatch() async -> [Waiter]? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Waiter]?? in
                if !state.pending.isEmpty { return .some(takeBatch(&state)) }
                if state.stopping {
                    state.running = false
                    return .some(nil)
                }
                state.idleFlushers.append(continuation)
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func takeBatch(_ state: inout State) -> [Waiter] {
        let count = min(maxBatch, state.pending.count)
        let batch = Array(state.pending.prefix(count))
        state.pending.removeFirst(count)
        state.batches += 1
        return batch
    }
}
