import Foundation
import Testing

@testable import JobQueue

@Suite struct LaneAllocatorTests {
    /// Hands out `free` slots for `rounds` claims with nothing left running (fast jobs).
    func served(free: Int, rounds: Int, hasWork: [Bool] = [true, true, true]) -> [Int] {
        var allocator = LaneAllocator(weights: [6, 3, 1])
        var served = [0, 0, 0]
        for _ in 0..<rounds {
            let quotas = allocator.quotas(free: free, running: [0, 0, 0], hasWork: hasWork)
            #expect(quotas.reduce(0, +) == free)
            for lane in 0..<3 { served[lane] += quotas[lane] }
        }
        return served
    }

    @Test(arguments: [1, 7, 10, 32, 100])
    func busyLanesShareClaimsByWeight(free: Int) {
        let served = served(free: free, rounds: 100)
        let total = Double(served.reduce(0, +))
        #expect(abs(Double(served[0]) / total - 0.6) < 0.02, "\(served)")
        #expect(abs(Double(served[1]) / total - 0.3) < 0.02, "\(served)")
        #expect(abs(Double(served[2]) / total - 0.1) < 0.02, "\(served)")
    }

    @Test func anIdleLanesShareIsLentToTheOthers() {
        let served = served(free: 10, rounds: 10, hasWork: [true, false, true])
        #expect(served[1] == 0)
        #expect(served[0] + served[2] == 100)
        #expect(abs(Double(served[2]) / 100 - 1.0 / 7.0) < 0.02, "\(served)")
        #expect(self.served(free: 5, rounds: 3, hasWork: [false, false, true]) == [0, 0, 15])
        var allocator = LaneAllocator(weights: [6, 3, 1])
        #expect(allocator.quotas(free: 5, running: [0, 0, 0], hasWork: [false, false, false]) == [0, 0, 0])
    }

    @Test func aLaneBelowItsShareIsServedFirst() {
        var allocator = LaneAllocator(weights: [6, 3, 1])
        // Long high jobs hold 9 of 10 slots; the free slot goes to a lane below its share.
        let quotas = allocator.quotas(free: 1, running: [9, 0, 0], hasWork: [true, true, true])
        #expect(quotas[0] == 0)
        // Low holds its one slot (its share of 10); medium, below its 3, gets both free slots.
        #expect(allocator.quotas(free: 2, running: [7, 0, 1], hasWork: [true, true, true]) == [0, 2, 0])
    }
}

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 10, base: .seconds(2), cap: .seconds(60), jitter: 0.25)

    @Test(arguments: [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (30, 60.0)])
    func backsOffExponentiallyUpToTheCap(attempt: Int, expectedSeconds: Double) {
        #expect(policy.delay(afterAttempt: attempt, random: 0.5).seconds == expectedSeconds)
        #expect(policy.delay(afterAttempt: attempt, random: 0).seconds == expectedSeconds * 0.75)
        #expect(policy.delay(afterAttempt: attempt, random: 1).seconds == expectedSeconds * 1.25)
    }

    @Test func jitterSpreadsRetries() {
        let delays = Set((0..<50).map { _ in policy.delay(afterAttempt: 3).milliseconds })
        #expect(delays.count > 10)
        #expect(delays.allSatisfy { (6000...10000).contains($0) })
    }
}
