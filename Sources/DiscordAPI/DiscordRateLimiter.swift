import Foundation
import NIOHTTP1

/// Discord's buckets as its response headers describe them, plus the 50 requests/s global
/// limit. Callers ask before sending; when a bucket is empty they get the wait instead of a
/// request Discord would refuse (and count against our invalid-request budget).
public actor DiscordRateLimiter {
    struct Bucket {
        var remaining: Int
        var resetAt: ContinuousClock.Instant
    }

    /// Route (method + template + major parameter) → Discord's bucket id.
    private var bucketOfRoute: [String: String] = [:]
    private var buckets: [String: Bucket] = [:]
    private var globalUntil: ContinuousClock.Instant?
    private var globalWindow: (start: ContinuousClock.Instant, count: Int)
    let globalPerSecond: Int

    public init(globalPerSecond: Int = 50) {
        self.globalPerSecond = globalPerSecond
        self.globalWindow = (.now, 0)
    }

    /// nil: send now (the request is counted). Otherwise how long to wait.
    public func reserve(route: String, countsAgainstGlobal: Bool = true) -> Duration? {
        let now = ContinuousClock.now
        if let until = globalUntil, until > now { return until - now }
        if countsAgainstGlobal {
            if now - globalWindow.start >= .seconds(1) { globalWindow = (now, 0) }
            if globalWindow.count >= globalPerSecond { return globalWindow.start + .seconds(1) - now }
        }
        if let id = bucketOfRoute[route], var bucket = buckets[id] {
            if bucket.resetAt <= now {
                // The window passed; the next answer refreshes the real figures.
                bucket.remaining = max(bucket.remaining, 1)
            } else if bucket.remaining <= 0 {
                return bucket.resetAt - now
            }
            bucket.remaining -= 1
            buckets[id] = bucket
        }
        if countsAgainstGlobal { globalWindow.count += 1 }
        return nil
    }

    /// Learns from an answer's `X-RateLimit-*` headers (and a 429's scope).
    public func update(route: String, status: Int, headers: HTTPHeaders, retryAfter: Double?) {
        let now = ContinuousClock.now
        if status == 429,
            headers.first(name: "X-RateLimit-Global")?.lowercased() == "true"
                || headers.first(name: "X-RateLimit-Scope") == "global"
        {
            globalUntil = now + .milliseconds(Int64((retryAfter ?? 1) * 1000))
            return
        }
        guard let id = headers.first(name: "X-RateLimit-Bucket") else { return }
        bucketOfRoute[route] = id
        let remaining = headers.first(name: "X-RateLimit-Remaining").flatMap(Int.init)
        let resetAfter = headers.first(name: "X-RateLimit-Reset-After").flatMap(Double.init) ?? retryAfter
        guard let remaining, let resetAfter else { return }
        buckets[id] = Bucket(
            remaining: status == 429 ? 0 : remaining, resetAt: now + .milliseconds(Int64(resetAfter * 1000)))
    }
}
