import Foundation

/// Per-route, per-resource buckets as Discord describes them: each (route, channel or webhook)
/// gets a fixed window of `limit` requests that resets `resetAfter` seconds after its first
/// request. Every answer carries the X-RateLimit-* headers; going over answers a real 429.
struct DiscordRateLimiter: Sendable {
    struct Limit: Sendable, Equatable {
        var limit: Int
        var resetAfter: Double
    }

    private struct Window: Sendable {
        var start: Double
        var count: Int
        var limit: Limit
    }

    /// Generous enough that ordinary tests never meet it, low enough to be real.
    var defaultLimit = Limit(limit: 50, resetAfter: 1)
    var channelLimits: [String: Limit] = [:]
    var webhookLimits: [String: Limit] = [:]
    private var windows: [String: Window] = [:]

    enum Outcome {
        case allowed(headers: [(String, String)])
        case limited(DiscordAPIError)
    }

    /// Counts one request against its bucket.
    /// - Parameters:
    ///   - now: monotonic seconds; `wallNow` epoch seconds for X-RateLimit-Reset.
    mutating func take(route: String, channelID: String?, webhookID: String?, now: Double, wallNow: Double)
        -> Outcome
    {
        let limit = webhookID.flatMap { webhookLimits[$0] } ?? channelID.flatMap { channelLimits[$0] } ?? defaultLimit
        let major = webhookID.map { "webhook:\($0)" } ?? channelID.map { "channel:\($0)" } ?? "global"
        let key = "\(route) \(major)"
        var window = windows[key] ?? Window(start: now, count: 0, limit: limit)
        if now - window.start >= window.limit.resetAfter || window.limit != limit {
            window = Window(start: now, count: 0, limit: limit)
        }
        let resetAfter = max(0, window.start + window.limit.resetAfter - now)
        func headers(remaining: Int) -> [(String, String)] {
            [
                ("X-RateLimit-Limit", String(window.limit.limit)),
                ("X-RateLimit-Remaining", String(remaining)),
                ("X-RateLimit-Reset", Self.secondsText(wallNow + resetAfter)),
                ("X-RateLimit-Reset-After", Self.secondsText(resetAfter)),
                ("X-RateLimit-Bucket", Self.bucketID(route)),
            ]
        }
        if window.count >= window.limit.limit {
            windows[key] = window
            return .limited(.rateLimited(retryAfter: resetAfter, scope: "user", extraHeaders: headers(remaining: 0)))
        }
        window.count += 1
        windows[key] = window
        return .allowed(headers: headers(remaining: window.limit.limit - window.count))
    }

    /// Forgets open windows so new limits apply at once.
    mutating func reset() {
        windows = [:]
    }

    /// Seconds (not negative) with three decimals, as Discord writes them: "1.250". Not
    /// `String(format:)`, which goes through Foundation's formatter on every answer.
    static func secondsText(_ seconds: Double) -> String {
        let total = Int((max(0, seconds) * 1000).rounded())
        let fraction = String(total % 1000)
        return "\(total / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// An opaque, stable id per route, like Discord's bucket hashes (FNV-1a, hex).
    static func bucketID(_ route: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in route.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
