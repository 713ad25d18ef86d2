import Synchronization

/// Coalesces single writes from concurrent callers into batches: each caller waits for its own
/// item's result, and a flush starts as soon as a flusher is free, taking everything queued (up
/// to `maxBatch`). Batches grow with load and a lone write waits for one round trip only. Used for
/// enqueues and for the webhook ingest, so many requests share one INSERT and one commit.
public final class GroupCommit<Input: Sendable, Output: Sendable>: Sendable {
    public typealias Flush = @Sendable ([Input]) async throws -> [Output]

    struct Waiter: Sendable {
        let input: Input
        let continuation: CheckedContinuation<Output, any Error>
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
    let linger: Duration
    let flush: Flush

    /// - Parameters:
    ///   - linger: how long a flusher that found a batch short of `maxBatch` waits for more before
    ///     writing it: fewer, larger statements for writers that are not waited on by a client.
    ///   - flush: writes a batch and returns one output per input, in order. If it throws, every
    ///     caller of the batch gets the error.
    public init(maxBatch: Int, linger: Duration = .zero, flush: @escaping Flush) {
        self.maxBatch = maxBatch
        self.linger = linger
        self.flush = flush
    }

    /// Whether `run` is accepting; callers fall back to writing alone when not.
    public var isRunning: Bool { state.withLock { $0.running && !$0.stopping } }

    /// Batches flushed so far.
    public var batchCount: Int { state.withLock { $0.batches } }

    /// Runs `flushers` concurrent flush loops until `stop()` or cancellation, then drains what is
    /// queued. (An idle flusher waits on a continuation, which cancellation alone would not end.)
    public func run(flushers: Int) async {
        state.withLock {
            $0.running = true
            $0.stopping = false
        }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<flushers {
                    group.addTask { await self.flushLoop() }
                }
            }
        } onCancel: {
            stop()
        }
    }

    /// Stops accepting; the flushers write what is queued, then `run` returns.
    public func stop() {
        let idle = state.withLock { state -> [CheckedContinuation<[Waiter]?, Never>] in
            state.stopping = true
            guard state.pending.isEmpty else { return [] }
            defer { state.idleFlushers = [] }
            return state.idleFlushers
        }
        for flusher in idle { flusher.resume(returning: nil) }
    }

    /// Queues `input` and returns its output once its batch is committed.
    public func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let handOff = state.withLock { state -> (CheckedContinuation<[Waiter]?, Never>, [Waiter])? in
                state.pending.append(Waiter(input: input, continuation: continuation))
                guard !state.idleFlushers.isEmpty else { return nil }
                return (state.idleFlushers.removeFirst(), takeBatch(&state))
            }
            if let (flusher, batch) = handOff { flusher.resume(returning: batch) }
        }
    }

    private func flushLoop() async {
        while var batch = await nextBatch() {
            if linger > .zero && batch.count < maxBatch {
                try? await Task.sleep(for: linger)
                batch += state.withLock { take(&$0, upTo: maxBatch - batch.count) }
            }
            do {
                let outputs = try await flush(batch.map(\.input))
                guard outputs.count == batch.count else {
                    throw GroupCommitError.outputCountMismatch(expected: batch.count, got: outputs.count)
                }
                for (waiter, output) in zip(batch, outputs) { waiter.continuation.resume(returning: output) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }

    /// The next batch for a flusher; nil once stopped and drained.
    private func nextBatch() async -> [Waiter]? {
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
        state.batches += 1
        return take(&state, upTo: maxBatch)
    }

    /// The oldest `limit` pending items at most, removed from the queue.
    private func take(_ state: inout State, upTo limit: Int) -> [Waiter] {
        let count = min(limit, state.pending.count)
        defer { state.pending.removeFirst(count) }
        return Array(state.pending.prefix(count))
    }
}

extension GroupCommit {
    /// A flush whose items succeed or fail one by one: `write` stores a batch and returns one
    /// value per item. When it throws an error `isolating` accepts, the items are written again
    /// one at a time, so only a bad one fails and its neighbours are still stored.
    public static func isolatingFailures<Success: Sendable>(
        isolating: @escaping @Sendable (any Error) -> Bool = { _ in true },
        _ write: @escaping @Sendable ([Input]) async throws -> [Success]
    ) -> Flush where Output == Result<Success, any Error> {
        { inputs in
            do {
                return try await write(inputs).map { .success($0) }
            } catch  where isolating(error) {
                var results: [Output] = []
                for input in inputs {
                    do {
                        guard let value = try await write([input]).first else {
                            throw GroupCommitError.outputCountMismatch(expected: 1, got: 0)
                        }
                        results.append(.success(value))
                    } catch {
                        results.append(.failure(error))
                    }
                }
                return results
            }
        }
    }
}

public enum GroupCommitError: Error, CustomStringConvertible {
    case outputCountMismatch(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .outputCountMismatch(let expected, let got):
            "a group-commit flush returned \(got) results for \(expected) items"
        }
    }
}
