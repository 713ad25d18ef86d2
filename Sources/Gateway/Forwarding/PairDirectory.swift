import Forwarding
import Foundation
import Store
import Synchronization

/// The active pairs of each source chat, cached for routing; refreshed after `ttl` (in the
/// background, see `RefreshingCache`) or at once when any instance changes a pair (NOTIFY
/// `afx_changes`).
public final class PairDirectory: Sendable {
    struct Key: Hashable {
        let platform: Platform
        let chatID: Int64
    }

    let repository: PairRepository
    private let bySource: RefreshingCache<Key, [Pair]>
    private let byID: RefreshingCache<Int64, Pair?>

    public init(repository: PairRepository, ttl: Duration = .seconds(10)) {
        self.repository = repository
        bySource = RefreshingCache(ttl: ttl)
        byID = RefreshingCache(ttl: ttl)
    }

    public func invalidate() {
        bySource.invalidate()
        byID.invalidate()
    }

    /// One pair by id (nil when deleted), for the deliver jobs: thousands a second must not
    /// each read the same row.
    public func pair(id: Int64) async throws -> Pair? {
        try await byID.value(id) { [repository] in try await repository.find(id: id) }
    }

    public func activePairs(source platform: Platform, chatID: Int64) async throws -> [Pair] {
        try await bySource.value(Key(platform: platform, chatID: chatID), load: activePairsLoad(platform, chatID))
    }

    /// The same, waiting at most `wait` for the database: nil when the chat's pairs are not cached
    /// and their load has not answered by then (it goes on, and caches them). For webhook
    /// requests, which must answer (503 when the database is down) without waiting on a load.
    public func activePairs(source platform: Platform, chatID: Int64, waitingAtMost wait: Duration) async -> [Pair]? {
        await bySource.value(
            Key(platform: platform, chatID: chatID), waitingAtMost: wait, load: activePairsLoad(platform, chatID))
    }

    private func activePairsLoad(_ platform: Platform, _ chatID: Int64) -> @Sendable () async throws -> [Pair] {
        { [repository] in try await repository.activePairs(source: platform, chatID: chatID) }
    }
}
