import Synchronization
import Testing

@testable import JobQueue

/// Statement deadlines (`withDeadline`, `abandoningOnCancellation`) and the claim loops' waits
/// (`Wakeup`).
@Suite struct DeadlineTests {
    /// Set once from another task.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .relaxed) }

        func set() { value.store(true, ordering: .relaxed) }

        /// Waits (up to 5 s) until it is set.
        func waitUntilSet() async throws {
            let giveUp = ContinuousClock.now + .seconds(5)
            while !isSet && ContinuousClock.now < giveUp { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func aDeadlineReturnsTheBodysValueOrError() async throws {
        #expect(try await withDeadline(.seconds(5)) { 42 } == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await withDeadline(.seconds(5)) { () async throws -> Int in throw Refused() }
        }
    }

    /// A body that does not answer is abandoned at the deadline, and cancelled.
    @Test func aBodyPastItsDeadlineGivesDatabaseTimeout() async throws {
        let bodyCancelled = Flag()
        let start = ContinuousClock.now
        await #expect(throws: DatabaseTimeout.self) {
            try await withDeadline(.milliseconds(80)) { () async throws -> Int in
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    bodyCancelled.set()
                    throw error
                }
                return 1
            }
        }
        #expect(ContinuousClock.now - start >= .milliseconds(80))
        try await bodyCancelled.waitUntilSet()
        #expect(bodyCancelled.isSet)
    }

    /// A body that ignores cancellation (like a query postgres-nio never answers: a continuation
    /// nobody resumes) is abandoned as soon as its caller is cancelled; one that ends, ends.
    @Test(.timeLimit(.minutes(1))) func abandoningOnCancellationLeavesABodyThatNeverAnswers() async throws {
        #expect(try await abandoningOnCancellation { 7 } == 7)
        let parked = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let entered = Flag()
        let caller = Task {
            try await abandoningOnCancellation {
                await withCheckedContinuation { continuation in
                    parked.withLock { $0 = continuation }
                    entered.set()
                }
            }
        }
        try await entered.waitUntilSet()
        let start = ContinuousClock.now
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ContinuousClock.now - start < .seconds(2))
        // Let the abandoned body end, so no task is left waiting.
        parked.withLock { $0 }?.resume()
    }

    @Test func aWaitEndsOnASignalOnItsTimeoutOrWhenCancelled() async throws {
        let wakeup = Wakeup()
        // A signal given before the wait is not lost.
        wakeup.signal()
        await wakeup.wait(timeout: .seconds(30))

        let start = ContinuousClock.now
        await wakeup.wait(timeout: .milliseconds(40))
        #expect(ContinuousClock.now - start >= .milliseconds(40))

        let signalled = Task { await wakeup.wait(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(20))
        wakeup.signal()
        await signalled.value

        let cancelled = Task { await wakeup.wait(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(20))
        cancelled.cancel()
        await cancelled.value
        // Both ended long before their 30 s timeouts (else the test would take a minute).
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}
