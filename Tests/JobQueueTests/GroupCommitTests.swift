import Synchronization
import Testing

@testable import JobQueue

/// `GroupCommit.isolatingFailures`: a batch that fails is written again item by item when the
/// error is one to isolate, so only the bad item fails.
@Suite struct GroupCommitTests {
    struct Bad: Error {}
    struct Down: Error {}

    /// Writes items, failing a whole batch that holds a negative one (with `error`).
    final class Store: Sendable {
        let writes = Mutex<[[Int]]>([])
        let error: @Sendable () -> any Error

        init(failingWith error: @escaping @Sendable () -> any Error) { self.error = error }

        func write(_ items: [Int]) throws -> [Int] {
            writes.withLock { $0.append(items) }
            if items.contains(where: { $0 < 0 }) { throw error() }
            return items.map { $0 * 10 }
        }
    }

    typealias Commit = GroupCommit<Int, Result<Int, any Error>>

    @Test func aBatchThatWritesIsWrittenOnce() async throws {
        let store = Store(failingWith: { Bad() })
        let flush = Commit.isolatingFailures { try store.write($0) }
        let results = try await flush([1, 2, 3])
        #expect(results.map { try? $0.get() } == [10, 20, 30])
        #expect(store.writes.withLock { $0 } == [[1, 2, 3]])
    }

    @Test func anIsolatedFailureFailsOnlyTheBadItem() async throws {
        let store = Store(failingWith: { Bad() })
        let flush = Commit.isolatingFailures(isolating: { $0 is Bad }) { try store.write($0) }
        let results = try await flush([1, -2, 3])
        #expect(results.map { try? $0.get() } == [10, nil, 30])
        #expect((try? results[1].get()) == nil)
        if case .failure(let error) = results[1] { #expect(error is Bad) }
        #expect(store.writes.withLock { $0 } == [[1, -2, 3], [1], [-2], [3]])
    }

    @Test func anotherErrorFailsTheWholeBatchWithoutRetrying() async throws {
        let store = Store(failingWith: { Down() })
        let flush = Commit.isolatingFailures(isolating: { $0 is Bad }) { try store.write($0) }
        await #expect(throws: Down.self) { try await flush([1, -2, 3]) }
        #expect(store.writes.withLock { $0 } == [[1, -2, 3]])
    }

    /// Cancelling `run` ends it even while its flushers wait for work: a service group that cancels
    /// its services (one failed to start, say) gives them two seconds before it crashes the process.
    @Test(.timeLimit(.minutes(1))) func cancellingRunEndsItsIdleFlushers() async throws {
        let commit = GroupCommit<Int, Int>(maxBatch: 10) { $0.map { $0 * 10 } }
        let running = Task { await commit.run(flushers: 2) }
        #expect(try await commit.submit(1) == 10)
        running.cancel()
        await running.value
        #expect(!commit.isRunning)
    }

    /// With a linger, a flusher that finds one item waits for more before writing: items submitted
    /// meanwhile share its statement. Without one, the first item is written alone at once.
    @Test(arguments: [true, false])
    func aLingeringFlusherGathersItemsThatArriveMeanwhile(lingers: Bool) async throws {
        let store = Store(failingWith: { Bad() })
        let commit = GroupCommit<Int, Int>(maxBatch: 10, linger: lingers ? .seconds(2) : .zero) { items in
            // Without a linger the first write is still under way when the others arrive.
            try await Task.sleep(for: .milliseconds(lingers ? 0 : 300))
            return try store.write(items)
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                await commit.run(flushers: 1)
                return 0
            }
            group.addTask { try await commit.submit(1) }
            try await Task.sleep(for: .milliseconds(100))
            group.addTask { try await commit.submit(2) }
            group.addTask { try await commit.submit(3) }
            var results: [Int] = []
            for _ in 0..<3 { results.append(try await group.next() ?? -1) }
            commit.stop()
            try await group.waitForAll()
            #expect(results.sorted() == [10, 20, 30])
        }
        let writes = store.writes.withLock { $0 }.map { $0.sorted() }
        #expect(writes == (lingers ? [[1, 2, 3]] : [[1], [2, 3]]))
    }
}
