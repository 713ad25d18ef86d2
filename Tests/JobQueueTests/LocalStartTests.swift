import Foundation
import JobQueue
import PostgresNIO
import ServiceLifecycle
import TestSupport
import Testing

/// Jobs a caller inserts already running with its own SQL and hands to this process's workers
/// (`JobQueue.reserveLocalStarts`), saving them a claim.
@Suite(.database, .serialized, .timeLimit(.minutes(3))) struct LocalStartTests {
    func withClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        try await TestDatabase.required.withClient { client in
            try await client.query("TRUNCATE jobs")
            return try await body(client)
        }
    }

    /// What a caller does under a reservation: insert the job running with its token and lease.
    func insertRunning(_ step: Step, under starts: LocalStarts, client: PostgresClient) async throws -> ClaimedJob {
        let payload = String(decoding: try JSONEncoder().encode(step), as: UTF8.self)
        let row = try #require(
            try await client.query(
                """
                INSERT INTO jobs (kind, lane, payload, max_attempts, state, attempt, lease_token, lease_expires_at,
                    attempted_at)
                VALUES (\(RecordingJob.kind), 0, \(payload)::jsonb, 5, 'running', 1, \(starts.token),
                    now() + \(Double(starts.leaseMilliseconds))::float8 * interval '1 millisecond', now())
                RETURNING id, created_at
                """
            ).collect().first)
        let (id, createdAt) = try row.decode((Int64, Date).self)
        return ClaimedJob(
            id: id, kind: RecordingJob.kind, lane: .high, payload: payload, attempt: 1, maxAttempts: 5,
            createdAt: createdAt, orderingKey: nil, leaseToken: starts.token)
    }

    /// Waits until the pool has installed its reservations (it does when it starts running).
    func reserve(_ queue: JobQueue, upTo count: Int) async throws -> LocalStarts {
        var starts: LocalStarts?
        _ = try await eventually(timeout: .seconds(5)) {
            starts = queue.reserveLocalStarts(upTo: count)
            return starts != nil
        }
        return try #require(starts)
    }

    /// The claim loop never polls (an hour) nor listens here, and a running row is not claimable:
    /// the job can only run because it was handed over. It runs once, on attempt 1, and its
    /// completion is written like a claimed job's.
    @Test func aJobHandedOverRunsOnceAndItsCompletionIsWritten() async throws {
        try await withClient { client in
            let log = RunLog()
            try await withPool(
                client, registry: .recording(log), keepCompleted: false,
                configure: {
                    $0.listen = false
                    $0.pollInterval = .seconds(3600)
                }
            ) { queue, _ in
                let starts = try await reserve(queue, upTo: 1)
                #expect(starts.count == 1)
                let job = try await insertRunning(Step(sequence: 1), under: starts, client: client)
                starts.start([job])
                #expect(try await eventually(timeout: .seconds(3)) { log.count == 1 })
                #expect(
                    try await eventually(timeout: .seconds(3)) {
                        try await client.count("SELECT count(*)::int FROM jobs") == 0
                    })
                #expect(log.entries.map(\.attempt) == [1])
                #expect(log.runs == [job.id: 1])
            }
        }
    }

    /// With nothing queued, reservations may take every free slot; they count as taken until
    /// handed over or released.
    @Test func reservationsTakeTheFreeSlotsWhileNothingIsQueued() async throws {
        try await withClient { client in
            let log = RunLog()
            try await withPool(
                client, registry: .recording(log),
                configure: {
                    $0.concurrency = 8
                    $0.fetchers = 1
                }
            ) { queue, _ in
                let first = try await reserve(queue, upTo: 3)
                #expect(first.count == 3)
                let second = try #require(queue.reserveLocalStarts(upTo: 10))
                #expect(second.count == 5)
                #expect(queue.reserveLocalStarts(upTo: 1) == nil)
                first.release()
                second.start([])
                let third = try #require(queue.reserveLocalStarts(upTo: 10))
                #expect(third.count == 8)
                third.release()

                // Four jobs, enqueued one at a time, are all the queue holds: once they run, the
                // other four slots can still be reserved.
                for sequence in 0..<4 {
                    try await queue.enqueue(
                        try NewJob(RecordingJob.self, Step(sequence: sequence, sleepMilliseconds: 3000)))
                }
                #expect(try await eventually { log.count == 4 })
                let fourth = try #require(queue.reserveLocalStarts(upTo: 10))
                #expect(fourth.count == 4)
                fourth.release()
            }
        }
    }

    /// While work is queued beyond what the loop's last claim could take, reservations stop once
    /// running jobs fill half the slots: new work then queues behind the work already admitted.
    /// (The loop pauses 30 s before refilling a busy pool here, so its free slots stay free.)
    @Test func reservationsLeaveHalfTheSlotsToAQueueWithABacklog() async throws {
        try await withClient { client in
            let log = RunLog()
            let queue = makeQueue(client)
            try await queue.enqueue(
                batch: try (0..<20).map {
                    try NewJob(
                        RecordingJob.self, Step(sequence: $0, sleepMilliseconds: 20_000), options: .init(lane: .high))
                })
            try await withPool(
                client, registry: .recording(log),
                configure: {
                    $0.concurrency = 8
                    $0.fetchers = 1
                    $0.refillDelay = .seconds(30)
                    $0.drainTimeout = .milliseconds(100)
                }
            ) { queue, _ in
                // The first claim splits the eight slots by lane weight: the high lane's share
                // fills at once and the rest of its jobs wait.
                #expect(try await eventually(timeout: .seconds(5)) { log.count > 4 })
                try await Task.sleep(for: .milliseconds(300))
                #expect(log.count < 8)
                #expect(queue.reserveLocalStarts(upTo: 1) == nil)
            }
        }
    }

    /// A job handed over once the pool is stopping is handed back unspent, and the stop waits for
    /// the reservation to be settled before it ends.
    @Test func aJobHandedOverDuringTheStopIsHandedBackUnspent() async throws {
        try await withClient { client in
            let log = RunLog()
            let logger = testLogger()
            let queue = makeQueue(client, keepCompleted: false)
            var configuration = WorkerPool.Configuration()
            configuration.concurrency = 4
            configuration.fetchers = 1
            configuration.drainTimeout = .seconds(10)
            let pool = WorkerPool(queue: queue, registry: .recording(log), configuration: configuration, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [queue, pool], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let starts = try await reserve(queue, upTo: 1)
                let stopped = ContinuousClock.now
                await group.triggerGracefulShutdown()
                let job = try await insertRunning(Step(sequence: 1), under: starts, client: client)
                try await Task.sleep(for: .milliseconds(300))
                starts.start([job])
                try await tasks.waitForAll()
                #expect(ContinuousClock.now - stopped >= .milliseconds(300))
                #expect(log.count == 0)
                let row = try #require(
                    try await client.query("SELECT state::text, attempt FROM jobs WHERE id = \(job.id)").collect().first
                )
                let (state, attempt) = try row.decode((String, Int).self)
                #expect(state == "available")
                #expect(attempt == 0)
            }
        }
    }
}
