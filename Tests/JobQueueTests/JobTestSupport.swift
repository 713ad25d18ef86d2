import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TestSupport

/// Runs a queue (group commit) and a worker pool around `body`, then shuts them down gracefully.
func withPool<T: Sendable>(
    _ client: PostgresClient, registry: JobRegistry, keepCompleted: Bool = true,
    configure: (inout WorkerPool.Configuration) -> Void = { _ in },
    configureQueue: (inout JobQueue.Configuration) -> Void = { _ in },
    _ body: (JobQueue, WorkerPool) async throws -> T
) async throws -> T {
    let logger = testLogger()
    let queue = makeQueue(client, keepCompleted: keepCompleted, configure: configureQueue)
    var configuration = WorkerPool.Configuration()
    configuration.concurrency = 16
    configuration.pollInterval = .milliseconds(100)
    configuration.lease = .seconds(5)
    configure(&configuration)
    let pool = WorkerPool(queue: queue, registry: registry, configuration: configuration, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [queue, pool], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body(queue, pool)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Tests keep completed rows so they can count them; `afx` deletes them by default.
func makeQueue(
    _ client: PostgresClient, keepCompleted: Bool = true, configure: (inout JobQueue.Configuration) -> Void = { _ in }
) -> JobQueue {
    var configuration = JobQueue.Configuration()
    configuration.keepCompletedJobs = keepCompleted
    configure(&configuration)
    return JobQueue(client: client, configuration: configuration, logger: testLogger())
}

func testLogger() -> Logger {
    var logger = Logger(label: "test.jobs")
    logger.logLevel =
        ProcessInfo.processInfo.environment["AFX_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .error
    return logger
}

/// What ran, in what order, and how many at once.
final class RunLog: Sendable {
    struct Entry: Sendable {
        let id: Int64
        let key: String?
        let sequence: Int
        let attempt: Int
    }
    private let state = Mutex<
        (entries: [Entry], inFlightByKey: [String: Int], maxInFlightByKey: Int, runs: [Int64: Int])
    >(
        ([], [:], 0, [:]))

    func begin(id: Int64, key: String?, sequence: Int, attempt: Int) {
        state.withLock { state in
            state.entries.append(Entry(id: id, key: key, sequence: sequence, attempt: attempt))
            state.runs[id, default: 0] += 1
            if let key {
                state.inFlightByKey[key, default: 0] += 1
                state.maxInFlightByKey = max(state.maxInFlightByKey, state.inFlightByKey[key]!)
            }
        }
    }

    func end(key: String?) {
        guard let key else { return }
        state.withLock { $0.inFlightByKey[key, default: 1] -= 1 }
    }

    var entries: [Entry] { state.withLock { $0.entries } }
    var runs: [Int64: Int] { state.withLock { $0.runs } }
    var maxInFlightByKey: Int { state.withLock { $0.maxInFlightByKey } }
    var count: Int { state.withLock { $0.entries.count } }
}

struct Step: Codable, Sendable {
    var key: String?
    var sequence: Int
    /// Fail this many first attempts.
    var failures: Int = 0
    var sleepMilliseconds: Int = 0
}

/// Records each run; fails the first `failures` attempts; may sleep.
struct RecordingJob: JobHandler {
    typealias Payload = Step
    static let kind = "test.recording"
    static let defaultRetryPolicy = RetryPolicy(maxAttempts: 5, base: .milliseconds(50), cap: .milliseconds(200))
    let log: RunLog

    func handle(_ payload: Step, context: JobContext) async throws {
        log.begin(id: context.id, key: payload.key, sequence: payload.sequence, attempt: context.attempt)
        defer { log.end(key: payload.key) }
        if payload.sleepMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(payload.sleepMilliseconds))
        }
        if context.attempt <= payload.failures {
            throw TestFailure(message: "planned failure \(context.attempt)")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension PostgresClient {
    func count(_ query: PostgresQuery) async throws -> Int {
        try await self.query(query).collect().first!.decode(Int.self)
    }

    func state(of id: Int64) async throws -> String {
        try await query("SELECT state::text FROM jobs WHERE id = \(id)").collect().first!.decode(String.self)
    }
}

extension JobRegistry {
    static func recording(_ log: RunLog) -> JobRegistry {
        var registry = JobRegistry()
        registry.register(RecordingJob(log: log))
        return registry
    }
}

final class IDList: Sendable {
    private let storage = Mutex<[Int64]>([])
    func append(_ id: Int64) { storage.withLock { $0.append(id) } }
    var ids: [Int64] { storage.withLock { $0 } }
}
