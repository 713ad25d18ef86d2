import Synchronization

/// PostgreSQL did not answer within the deadline an operation gave it.
public struct DatabaseTimeout: Error, CustomStringConvertible {
    public let after: Duration
    public var description: String { "the database did not answer within \(after)" }
}

/// Runs `body`, giving up with `DatabaseTimeout` after `timeout`.
///
/// postgres-nio can leave a query's promise unfulfilled when its connection dies at the wrong
/// moment (seen during a server restart), and such an await ignores cancellation. A task group
/// would wait for it forever, so the body runs in its own task and is abandoned (and cancelled)
/// when the deadline passes; the caller always gets an answer.
public func withDeadline<T: Sendable>(
    _ timeout: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await abandoning(body, after: timeout)
}

/// Runs `body` until it ends or the caller is cancelled, whichever is first: on cancellation the
/// caller gets `CancellationError` at once and the body is cancelled and abandoned. For long
/// awaits on PostgreSQL (a LISTEN) that postgres-nio might never resume (see `withDeadline`), so
/// a service still stops when its task is cancelled.
public func abandoningOnCancellation<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await abandoning(body, after: nil)
}

private func abandoning<T: Sendable>(
    _ body: @escaping @Sendable () async throws -> T, after timeout: Duration?
) async throws -> T {
    let once = ResumeOnce<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            once.install(continuation)
            let work = Task {
                do {
                    once.resume(with: .success(try await body()))
                } catch {
                    once.resume(with: .failure(error))
                }
            }
            if let timeout {
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled, once.resume(with: .failure(DatabaseTimeout(after: timeout))) {
                        work.cancel()
                    }
                }
                once.onResume { timer.cancel() }
            }
            once.onCancel { work.cancel() }
        }
    } onCancel: {
        once.cancel()
    }
}

/// A continuation resumed exactly once, by whichever of work, timer or cancellation comes first.
private final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var pending: Result<T, any Error>?
        var done = false
        var cancelled = false
        var onResume: (@Sendable () -> Void)?
        var onCancel: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let pending = state.pending {
                state.pending = nil
                return pending
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func onResume(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.done { return true }
            state.onResume = action
            return false
        }
        if runNow { action() }
    }

    func onCancel(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.cancelled { return true }
            state.onCancel = action
            return false
        }
        if runNow { action() }
    }

    /// True if this call was the one that resumed.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let (won, continuation, action) = state.withLock {
            state -> (Bool, CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !state.done else { return (false, nil, nil) }
            state.done = true
            let action = state.onResume
            state.onResume = nil
            if let continuation = state.continuation {
                state.continuation = nil
                return (true, continuation, action)
            }
            state.pending = result
            return (true, nil, action)
        }
        continuation?.resume(with: result)
        action?()
        return won
    }

    func cancel() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.cancelled = true
            return state.onCancel
        }
        action?()
        resume(with: .failure(CancellationError()))
    }
}
