import Synchronization

/// A level-triggered wake-up for one waiter at a time: a `signal()` before `wait()` is not lost,
/// and signals while nobody waits collapse into one.
final class Wakeup: Sendable {
    private struct State {
        var signaled = false
        var nextWaitID: UInt64 = 0
        /// Waits with an id up to this one are over (timed out) even if they have not parked yet.
        var releasedThrough: UInt64 = 0
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.signaled = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled or after `timeout`, whichever is first.
    func wait(timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaitID += 1
            return state.nextWaitID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.park(id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.release(id)
            }
            await group.next()
            group.cancelAll()
            release(id)
        }
    }

    private func park(_ id: UInt64) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.signaled {
                    state.signaled = false
                    return true
                }
                if state.releasedThrough >= id { return true }
                state.waiter = (id, continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func release(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.releasedThrough = max(state.releasedThrough, id)
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}

/// Listeners for "jobs were enqueued here", each woken in turn: one idle claim loop answering
/// a new job is enough, and waking them all would make every loop race for the same row.
final class WorkListeners: Sendable {
    /// A listener gets the lanes that received jobs (by `Lane.rawValue`).
    typealias Listener = @Sendable ([Bool]) -> Void
    private let state = Mutex<(listeners: [Int: Listener], next: Int, counter: Int)>(([:], 0, 0))

    func add(_ listener: @escaping Listener) -> Int {
        state.withLock { state in
            state.counter += 1
            state.listeners[state.counter] = listener
            return state.counter
        }
    }

    func remove(_ token: Int) {
        state.withLock { _ = $0.listeners.removeValue(forKey: token) }
    }

    func notifyOne(lanes: [Bool] = [true, true, true]) {
        let listener = state.withLock { state -> Listener? in
            guard !state.listeners.isEmpty else { return nil }
            let keys = state.listeners.keys.sorted()
            state.next = (state.next + 1) % keys.count
            return state.listeners[keys[state.next]]
        }
        listener?(lanes)
    }
}
