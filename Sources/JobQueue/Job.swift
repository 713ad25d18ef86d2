import Foundation
import Logging
import Synchronization

/// Priority lanes. Lanes share workers by weight, not by strict priority, so a saturated high lane
/// cannot starve the low one.
public enum Lane: Int16, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// Elite users and system health.
    case high = 0
    /// Pro users.
    case medium = 1
    /// Free users, bulk work and cleanup.
    case low = 2

    public var description: String {
        switch self {
        case .high: "high"
        case .medium: "medium"
        case .low: "low"
        }
    }

    public init?(name: String) {
        guard let lane = Lane.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = lane
    }
}

public enum JobState: String, Sendable, CaseIterable, Codable {
    case available, running, completed, discarded, cancelled
}

/// How a job is enqueued.
public struct JobOptions: Sendable {
    public var lane: Lane = .medium
    /// Run no earlier than this long after enqueue.
    public var delay: Duration = .zero
    /// nil: the handler's retry policy decides.
    public var maxAttempts: Int?
    /// While a job with this key is unfinished, enqueueing another with it is a no-op that
    /// reports the existing job.
    public var uniqueKey: String?
    /// Jobs sharing this key run one at a time, in enqueue order.
    public var orderingKey: String?

    public init(
        lane: Lane = .medium, delay: Duration = .zero, maxAttempts: Int? = nil, uniqueKey: String? = nil,
        orderingKey: String? = nil
    ) {
        self.lane = lane
        self.delay = delay
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
        self.orderingKey = orderingKey
    }
}

/// A job ready to be inserted: its kind, JSON payload and options.
public struct NewJob: Sendable {
    public let kind: String
    public let payload: String
    public let options: JobOptions

    public init<Payload: Encodable>(kind: String, payload: Payload, options: JobOptions = .init()) throws {
        precondition(!kind.isEmpty, "a job kind must not be empty")
        precondition(
            options.uniqueKey?.isEmpty != true && options.orderingKey?.isEmpty != true, "keys must not be empty")
        self.kind = kind
        self.payload = String(decoding: try JSONEncoder.jobs.encode(payload), as: UTF8.self)
        self.options = options
    }

    /// A job for a registered handler type.
    public init<Handler: JobHandler>(_ handler: Handler.Type, _ payload: Handler.Payload, options: JobOptions = .init())
        throws
    {
        var options = options
        if options.maxAttempts == nil { options.maxAttempts = Handler.defaultRetryPolicy.maxAttempts }
        try self.init(kind: Handler.kind, payload: payload, options: options)
    }
}

/// What an enqueue did: inserted a new job, or found an unfinished one with the same unique key.
public struct EnqueueResult: Sendable, Equatable {
    public let id: Int64
    public let inserted: Bool
}

/// A job row as the CLI and admin views show it.
public struct JobRecord: Sendable, Codable {
    public let id: Int64
    public let kind: String
    public let lane: Lane
    public let state: JobState
    public let attempt: Int
    public let maxAttempts: Int
    public let runAt: Date
    public let createdAt: Date
    public let finishedAt: Date?
    public let lastError: String?
    public let uniqueKey: String?
    public let orderingKey: String?
    public let payload: String
    /// The last attempts' errors, oldest first.
    public let errors: String
}

/// What a handler knows about the job it runs.
public struct JobContext: Sendable {
    public let id: Int64
    public let kind: String
    public let lane: Lane
    /// 1 on the first run.
    public let attempt: Int
    public let maxAttempts: Int
    public let createdAt: Date
    public let orderingKey: String?
    public var logger: Logger
    let completionJobs = CompletionJobs()

    /// Enqueues `jobs` in the statement that records this job's completion: they exist exactly
    /// when the completion was accepted under this run's lease, so a run whose completion is lost
    /// (a crash, a lapsed lease) leaves nothing behind and its rerun enqueues them once. Jobs due
    /// now are claimable right after that statement; the writes cost no statement of their own.
    public func enqueueOnCompletion(_ jobs: [NewJob]) {
        completionJobs.append(jobs)
    }
}

/// The jobs a running handler asked to enqueue with its completion.
final class CompletionJobs: Sendable {
    private let jobs = Mutex<[NewJob]>([])

    func append(_ more: [NewJob]) {
        jobs.withLock { $0.append(contentsOf: more) }
    }

    func take() -> [NewJob] {
        jobs.withLock { jobs in
            defer { jobs = [] }
            return jobs
        }
    }
}

extension JSONEncoder {
    static let jobs: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
}

extension JSONDecoder {
    static let jobs: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
