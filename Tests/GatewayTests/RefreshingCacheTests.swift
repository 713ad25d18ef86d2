import JobQueue
import Synchronization
import Testing

@testable import Gateway

private struct DatabaseDown: Error {}

/// Holds its waiters until opened.
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
}

/// The routing caches: stale entries are refreshed in the background, once; invalidation wins.
@Suite(.timeLimit(.minutes(1))) struct RefreshingCacheTests {
    /// Counts loads and answers with a value the test sets; may hold each load until released.
    final class Source: Sendable {
        private let state = Mutex((value: "a", loads: 0))

        var loads: Int { state.withLock { $0.loads } }
        func set(_ value: String) { state.withLock { $0.value = value } }

        func load(after delay: Duration = .zero) async throws -> String {
            let value = state.withLock { state -> String in
                state.loads += 1
                return state.value
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            return value
        }
    }

    func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        return condition()
    }

    @Test func aFreshEntryIsServedWithoutLoading() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .seconds(60))
        let source = Source()
        #expect(cache.fresh(1) == nil)
        #expect(try await cache.value(1) { try await source.load() } == "a")
        source.set("b")
        #expect(try await cache.value(1) { try await source.load() } == "a")
        #expect(cache.fresh(1) == "a")
        #expect(source.loads == 1)
    }

    /// `value(_:waitingAtMost:)` answers a miss with the load's value when it comes within the
    /// wait, and nil when it does not (or fails): that load goes on, and its value is cached for
    /// later callers. What is cached it serves like `value`, an expired entry too, while one
    /// background load replaces it.
    @Test func aBoundedWaitGivesUpOnASlowLoadWhichStillFillsTheCache() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .seconds(3))
        let source = Source()
        #expect(await cache.value(1, waitingAtMost: .seconds(5)) { try await source.load() } == "a")
        source.set("b")
        try await Task.sleep(for: .milliseconds(3700))
        #expect(await cache.value(1, waitingAtMost: .zero) { try await source.load() } == "a")
        #expect(try await eventually { cache.fresh(1) == "b" })
        #expect(source.loads == 2)

        source.set("c")
        let started = ContinuousClock.now
        #expect(
            await cache.value(2, waitingAtMost: .milliseconds(50)) { try await source.load(after: .seconds(2)) } == nil)
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(try await eventually { cache.fresh(2) == "c" })
        #expect(
            await cache.value(3, waitingAtMost: .seconds(5)) { () async throws -> String in throw DatabaseDown() }
                == nil)
        #expect(cache.fresh(3) == nil)
        #expect(source.loads == 3)
    }

    /// Past its time (2.4–3.6 s here) an entry is still answered at once, by many callers, while
    /// exactly one load replaces it. (It is loaded first only from 4.8 s: the margin is wide
    /// because a busy machine running the whole suite once overslept a 0.5 s one.)
    @Test func anExpiredEntryIsServedWhileOneLoadReplacesIt() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .seconds(3))
        let source = Source()
        _ = try await cache.value(1) { try await source.load() }
        source.set("b")
        try await Task.sleep(for: .milliseconds(3700))
        #expect(cache.fresh(1) == nil)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 {
                group.addTask { try await cache.value(1) { try await source.load(after: .milliseconds(200)) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers == Array(repeating: "a", count: 50))
        #expect(try await eventually { cache.fresh(1) == "b" })
        #expect(source.loads == 2)
    }

    /// Once stale for longer than its time to live, an entry is loaded before answering.
    @Test func aLongExpiredEntryIsLoadedFirst() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .milliseconds(200))
        let source = Source()
        _ = try await cache.value(1) { try await source.load() }
        source.set("b")
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await cache.value(1) { try await source.load() } == "b")
    }

    /// After invalidate nothing old is served, and a load begun before it is not kept.
    @Test func invalidationWinsOverALoadInFlight() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .seconds(60))
        let source = Source()
        let gate = Gate()
        // The early load reads "a", then waits for the gate: it is in flight until the
        // invalidation, however slowly the machine schedules either side.
        let early = Task {
            try await cache.value(1) {
                let value = try await source.load()
                await gate.wait()
                return value
            }
        }
        #expect(try await eventually { source.loads == 1 })
        source.set("b")
        cache.invalidate()
        gate.open()
        #expect(try await early.value == "a")
        #expect(cache.fresh(1) == nil, "a load begun before the invalidation was stored")
        #expect(try await cache.value(1) { try await source.load() } == "b")
        cache.invalidate()
        source.set("c")
        #expect(try await cache.value(1) { try await source.load() } == "c")
    }

    /// Callers that find nothing to serve (empty, invalidated or long expired) share one load, and
    /// a load that fails fails them all and is not kept: the next caller loads again.
    @Test func concurrentMissesShareOneLoad() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .seconds(60))
        let source = Source()
        func fifty() async throws -> [String] {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await cache.value(1) { try await source.load(after: .milliseconds(200)) } }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(try await fifty() == Array(repeating: "a", count: 50))
        #expect(source.loads == 1)
        #expect(try await cache.value(2) { try await source.load() } == "a")
        #expect(source.loads == 2, "another key loads on its own")

        cache.invalidate()
        source.set("b")
        #expect(try await fifty() == Array(repeating: "b", count: 50))
        #expect(source.loads == 3)

        cache.invalidate()
        let attempts = Counter()
        let failures = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        _ = try await cache.value(1) {
                            attempts.add()
                            try await Task.sleep(for: .milliseconds(200))
                            throw DatabaseDown()
                        }
                    } catch is DatabaseDown {
                        failures.add()
                    } catch {}
                }
            }
        }
        #expect(attempts.value == 1)
        #expect(failures.value == 20)
        #expect(cache.fresh(1) == nil)
        #expect(try await cache.value(1) { try await source.load() } == "b")
        #expect(source.loads == 4)
    }

    /// A load that never answers (a query whose connection died under it, which ignores
    /// cancellation) fails at its deadline, and the next caller loads again instead of waiting on
    /// it for good.
    @Test func aStuckLoadFailsAtItsDeadlineAndTheNextCallerLoadsAgain() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .seconds(60), loadTimeout: .milliseconds(300))
        let never = Gate()
        await #expect(throws: DatabaseTimeout.self) {
            try await cache.value(1) {
                await never.wait()
                return "never"
            }
        }
        let source = Source()
        #expect(try await cache.value(1) { try await source.load() } == "a")
        #expect(source.loads == 1)
    }

    /// A caller that is cancelled (a job handed back at shutdown) stops waiting for the shared
    /// load at once; the load goes on for the other callers.
    @Test func aCancelledCallerStopsWaitingForTheSharedLoad() async throws {
        let cache = RefreshingCache<Int, String>(ttl: .seconds(60))
        let gate = Gate()
        let source = Source()
        let loading = Counter()
        let first = Task {
            try await cache.value(1) {
                loading.add()
                await gate.wait()
                return try await source.load()
            }
        }
        // The shared load is under way (held at the gate) before the second caller comes.
        #expect(try await eventually { loading.value == 1 })
        let ended = Counter()
        let second = Task {
            defer { ended.add() }
            return try await cache.value(1) { try await source.load() }
        }
        try await Task.sleep(for: .milliseconds(100))
        second.cancel()
        #expect(try await eventually { ended.value == 1 })
        await #expect(throws: CancellationError.self) { try await second.value }
        gate.open()
        #expect(try await first.value == "a")
        #expect(loading.value == 1, "the second caller joined the first one's load")
        #expect(source.loads == 1)
    }
}
