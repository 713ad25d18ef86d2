import Forwarding
import Foundation
import Store
import Synchronization

/// The active pairs of each source chat, cached for routing; refreshed after `ttl` or at once
/// when any instance changes a pair (NOTIFY `afx_changes`).
public final class PairDirectory: Sendable {
    struct Key: Hashable {
        let platform: Platform
        let chatID: Int64
    }

    let repository: PairRepository
    let ttl: Duration
    private let cache = Mutex<[Key: (pairs: [Pair], expires: ContinuousClock.Instant)]>([:])
    private let byID = Mutex<[Int64: (pair: Pair?, expires: ContinuousClock.Instant)]>([:])

    public init(repository: PairRepository, ttl: Duration = .seconds(10)) {
        self.repository = repository
        self.ttl = ttl
    }

    public func invalidate() {
        cache.withLock { $0.removeAll() }
        byID.withLock { $0.removeAll() }
    }

    /// One pair by id (nil when deleted), for the deliver jobs: thousands a second must not
    /// each read the same row.
    public func pair(id: Int64) async throws -> Pair? {
        let now = ContinuousClock.now
        if let entry = byID.withLock({ $0[id] }), entry.expires > now { return entry.pair }
        let pair = try await repository.find(id: id)
        byID.withLock { $0[id] = (pair, now + ttl) }
        return pair
    }

    public func activePairs(source platform: Platform, chatID: Int64) async throws -> [Pair] {
        let key = Key(platform: platform, chatID: chatID)
        let now = ContinuousClock.now
        if let entry = cache.withLock({ $0[key] }), entry.expires > now { return entry.pairs }
        let pairs = try await repository.activePairs(source: platform, chatID: chatID)
        cache.withLock { $0[key] = (pairs, now + ttl) }
        return pairs
    }
}
