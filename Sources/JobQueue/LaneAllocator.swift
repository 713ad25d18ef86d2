/// Splits free worker slots between lanes by weight, not by strict priority.
///
/// Slot by slot, a smooth weighted round-robin over the lanes with work picks, its state carried
/// across calls, so claims split exactly by weight over time, even where a lane's share is below
/// one slot per claim (low at weight 1 of 10 in a pool of 7 gets every tenth slot). When the pick
/// already holds its fair share of the pool (`capacity · weight / Σweights`, rounded up: long jobs
/// pile up) and another lane with work is below its share, the slot goes to that lane instead.
struct LaneAllocator: Sendable {
    let weights: [Int]
    private var current: [Int]

    init(weights: [Int]) {
        precondition(weights.count == Lane.allCases.count && weights.allSatisfy { $0 > 0 })
        self.weights = weights
        self.current = Array(repeating: 0, count: weights.count)
    }

    /// - Parameters:
    ///   - free: slots to hand out now.
    ///   - running: jobs running per lane.
    ///   - hasWork: lanes that may have due jobs (a lane that came back short is skipped until the
    ///     next wake-up).
    mutating func quotas(free: Int, running: [Int], hasWork: [Bool]) -> [Int] {
        var quotas = [Int](repeating: 0, count: weights.count)
        let lanes = weights.indices.filter { hasWork[$0] }
        guard free > 0, !lanes.isEmpty else { return quotas }
        let totalWeight = lanes.reduce(0) { $0 + weights[$1] }
        let capacity = free + running.reduce(0, +)
        let share = weights.map { (capacity * $0 + totalWeight - 1) / totalWeight }

        func byCurrent(_ a: Int, _ b: Int) -> Bool { (current[a], weights[a]) < (current[b], weights[b]) }
        for _ in 0..<free {
            for lane in lanes { current[lane] += weights[lane] }
            var pick = lanes.max(by: byCurrent)!
            if running[pick] + quotas[pick] >= share[pick],
                let starved = lanes.filter({ running[$0] + quotas[$0] < share[$0] }).max(by: byCurrent)
            {
                pick = starved
            }
            current[pick] -= totalWeight
            quotas[pick] += 1
        }
        return quotas
    }
}
