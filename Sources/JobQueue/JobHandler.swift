import Foundation
import Logging

/// Runs one kind of job. Handlers must be idempotent: delivery is at least once (a worker that
/// dies mid-job has the job rerun elsewhere after its lease lapses).
public protocol JobHandler: Sendable {
    associatedtype Payload: Codable & Sendable
    static var kind: String { get }
    /// Attempts and backoff for this kind.
    static var defaultRetryPolicy: RetryPolicy { get }
    func handle(_ payload: Payload, context: JobContext) async throws
}

extension JobHandler {
    public static var defaultRetryPolicy: RetryPolicy { .default }
}

/// Exponential backoff with jitter: `min(cap, base · 2^(attempt-1))`, scaled by a random factor
/// in `1 ± jitter`.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var base: Duration
    public var cap: Duration
    public var jitter: Double

    public init(maxAttempts: Int, base: Duration, cap: Duration, jitter: Double = 0.25) {
        precondition(maxAttempts >= 1 && jitter >= 0 && jitter < 1)
        self.maxAttempts = maxAttempts
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    public static let `default` = RetryPolicy(maxAttempts: 10, base: .seconds(2), cap: .seconds(3600))

    public func delay(afterAttempt attempt: Int, random: Double = .random(in: 0...1)) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let raw = base.seconds * pow(2, Double(exponent))
        let capped = min(raw, cap.seconds)
        let factor = 1 - jitter + 2 * jitter * random
        return .milliseconds(Int64((capped * factor * 1000).rounded()))
    }
}

/// What a handler throws to steer the queue; any other error is retried with backoff.
public enum JobError: Error, CustomStringConvertible {
    /// Run again at `date` without spending an attempt (a platform's 429 `retry_after`).
    case retryAt(Date, reason: String)
    /// Retrying cannot help: discard now, keeping the reason.
    case permanent(String)

    public var description: String {
        switch self {
        case .retryAt(let date, let reason): "retry at \(date): \(reason)"
        case .permanent(let reason): reason
        }
    }
}

/// The handlers one worker pool runs, by kind.
public struct JobRegistry: Sendable {
    struct Entry: Sendable {
        let policy: RetryPolicy
        let run: @Sendable (Data, JobContext) async throws -> Void
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    public mutating func register<Handler: JobHandler>(_ handler: Handler) {
        precondition(entries[Handler.kind] == nil, "two handlers for job kind \(Handler.kind)")
        entries[Handler.kind] = Entry(policy: Handler.defaultRetryPolicy) { data, context in
            let payload: Handler.Payload
            do {
                payload = try JSONDecoder.jobs.decode(Handler.Payload.self, from: data)
            } catch {
                throw JobError.permanent("the payload does not decode as \(Handler.Payload.self): \(error)")
            }
            try await handler.handle(payload, context: context)
        }
    }

    public var kinds: [String] { entries.keys.sorted() }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
