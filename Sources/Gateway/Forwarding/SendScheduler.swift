import Foundation
import Synchronization

/// Platform flood limits applied by scheduling: before a delivery sends, it reserves one token
/// per message in every bucket that governs it (the chat, the group, the bot). When one is empty
/// the delivery is rescheduled for when the tokens will be there; no worker sleeps on a limit.
///
/// Buckets are per process: several instances each keep their own (the platforms' 429s, which
/// reschedule too, catch what this misses).
public final class SendScheduler: Sendable {
    public struct Limit: Sendable, Hashable {
        public let key: String
        /// Tokens per second.
        public let rate: Double
        /// Tokens a bucket holds when full (bursts).
        public let burst: Double

        public init(key: String, rate: Double, burst: Double) {
            self.key = key
            self.rate = rate
            self.burst = max(1, burst)
        }
    }

    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    /// Takes `count` tokens from every bucket, or none: nil when sending may go ahead now, else
    /// how long until it may.
    public func reserve(_ count: Int, under limits: [Limit]) -> Duration? {
        let now = ContinuousClock.now
        let needed = Double(count)
        return buckets.withLock { buckets in
            var wait = Duration.zero
            var refreshed: [String: Bucket] = [:]
            for limit in limits {
                var bucket = buckets[limit.key] ?? Bucket(tokens: limit.burst, updated: now)
                let elapsed = now - bucket.updated
                bucket.tokens = min(limit.burst, bucket.tokens + elapsed.secondsDouble * limit.rate)
                bucket.updated = now
                refreshed[limit.key] = bucket
                // A burst smaller than the request is reserved in full once the bucket is full.
                let target = min(needed, limit.burst)
                if bucket.tokens < target {
                    wait = max(wait, .milliseconds(Int64(((target - bucket.tokens) / limit.rate * 1000).rounded(.up))))
                }
            }
            guard wait == .zero else {
                for (key, bucket) in refreshed { buckets[key] = bucket }
                return wait
            }
            for limit in limits {
                var bucket = refreshed[limit.key]!
                bucket.tokens -= needed
                buckets[limit.key] = bucket
            }
            return nil
        }
    }
}

extension Duration {
    var secondsDouble: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
