import JobQueue
import Synchronization

/// A cache of database answers that a change notification invalidates (`invalidate()`), with a
/// time to live as the safety net for a missed notification.
///
/// An entry past its time is still served once more while a single background load replaces
/// it, for up to another `ttl`: entries that expire together (all the pairs loaded in the same
/// second) must not send every caller to the database at once, which showed as a latency spike
/// every ten seconds in `afx bench e2e`. Expiries are also spread by ±20 %. After `invalidate()`
/// nothing older is served, and a load that started before it is not stored.
///
/// Callers that find nothing to serve share one load per key: right after an invalidation (any
/// pair change empties the cache) every job in flight would otherwise ask the same question.
/// Every load has `loadTimeout` as its deadline, so a query stuck behind a dead connection cannot
/// hold a key's callers for good, and a caller that is cancelled stops waiting at once.
final class RefreshingCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
        var refreshing = false
    }

    private enum Lookup {
        case hit(Value)
        case wait(Task<Value, any Error>)
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// The load every caller that found nothing waits for, one per key (under the generation
        /// it began in).
        var loading: [Key: (generation: Int, task: Task<Value, any Error>)] = [:]
        /// Bumped by `invalidate()`: loads begun under an older one are dropped.
        var generation = 0
    }

    let ttl: Duration
    let loadTimeout: Duration
    private let state = Mutex(State())

    init(ttl: Duration, loadTimeout: Duration = .seconds(10)) {
        self.ttl = ttl
        self.loadTimeout = loadTimeout
    }

    /// The value if it is within its time to live.
    func fresh(_ key: Key) -> Value? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let entry = state.entries[key], entry.expires > now else { return nil }
            return entry.value
        }
    }

    func value(_ key: Key, load: @escaping @Sendable () async throws -> Value) async throws -> Value {
        switch lookup(key, load: load) {
        case .hit(let value):
            return value
        case .wait(let task):
            // The shared load ends at its own deadline (and is no longer shared by then); waiting
            // through a later one lets a cancelled caller leave before the load ends.
            return try await withDeadline(loadTimeout * 2) { try await task.value }
        }
    }

    /// What `value` would serve, but waiting at most `wait` for a load: nil when nothing is cached
    /// and the shared load (started here if none is running) has not answered by then. The load
    /// goes on and caches its answer for later callers. For requests that must answer promptly
    /// (a 503 when the database is down) whatever the database does.
    func value(
        _ key: Key, waitingAtMost wait: Duration, load: @escaping @Sendable () async throws -> Value
    ) async -> Value? {
        switch lookup(key, load: load) {
        case .hit(let value): return value
        case .wait(let task): return try? await withDeadline(wait) { try await task.value }
        }
    }

    /// A cached value to serve (one past its time is refreshed in the background, once), or else
    /// the shared load to wait for (started here if none is running).
    private func lookup(_ key: Key, load: @escaping @Sendable () async throws -> Value) -> Lookup {
        let now = ContinuousClock.now
        var refreshUnder: Int?
        defer { if let refreshUnder { refresh(key, load: load, generation: refreshUnder) } }
        return state.withLock { state -> Lookup in
            guard var entry = state.entries[key], entry.expires + ttl > now else {
                if let loading = state.loading[key], loading.generation == state.generation {
                    return .wait(loading.task)
                }
                let generation = state.generation
                let task = Task { [loadTimeout] in
                    do {
                        let value = try await withDeadline(loadTimeout, load)
                        self.store(value, for: key, generation: generation, endingLoad: true)
                        return value
                    } catch {
                        self.store(nil, for: key, generation: generation, endingLoad: true)
                        throw error
                    }
                }
                state.loading[key] = (generation, task)
                return .wait(task)
            }
            if entry.expires > now || entry.refreshing { return .hit(entry.value) }
            entry.refreshing = true
            state.entries[key] = entry
            refreshUnder = state.generation
            return .hit(entry.value)
        }
    }

    private func refresh(_ key: Key, load: @escaping @Sendable () async throws -> Value, generation: Int) {
        Task {
            // On failure the stale value stays, and the next caller tries again.
            store(try? await withDeadline(loadTimeout, load), for: key, generation: generation)
        }
    }

    func invalidate() {
        state.withLock { state in
            state.entries.removeAll()
            state.loading.removeAll()
            state.generation += 1
        }
    }

    /// Keeps what a load found (nothing if it failed), unless an invalidation came since.
    /// - Parameter endingLoad: a shared load ends here, in the same lock, so the next caller that
    ///   finds nothing starts a new one (after an invalidation the shared loads were dropped
    ///   already, and newer ones may be running).
    private func store(_ value: Value?, for key: Key, generation: Int, endingLoad: Bool = false) {
        let expires = ContinuousClock.now + ttl * Double.random(in: 0.8...1.2)
        state.withLock { state in
            guard state.generation == generation else { return }
            if endingLoad { state.loading[key] = nil }
            if let value {
                state.entries[key] = Entry(value: value, expires: expires)
            } else {
                state.entries[key]?.refreshing = false
            }
        }
    }
}
