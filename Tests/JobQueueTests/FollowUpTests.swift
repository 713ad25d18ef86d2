import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// Jobs a handler enqueues with its completion (`JobContext.enqueueOnCompletion`).
@Suite(.database, .serialized, .timeLimit(.minutes(3))) struct FollowUpTests {
    func withClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        try await TestDatabase.required.withClient { client in
            try await client.query("TRUNCATE jobs")
            return try await body(client)
        }
    }

    /// Both completion paths: deleted by the claim statement (the default), or kept (an UPDATE).
    @Test(arguments: [false, true])
    func followUpsOfAFailedRunAreDroppedAndThoseOfTheCompletedRunRunOnce(keepCompleted: Bool) async throws {
        try await withClient { client in
            let log = RunLog()
            var registry = JobRegistry.recording(log)
            registry.register(SpawningJob())
            try await withPool(client, registry: registry, keepCompleted: keepCompleted) { queue, _ in
                let children = (0..<3).map { Step(key: "children", sequence: $0) }
                try await queue.enqueue(
                    try NewJob(SpawningJob.self, Spawn(children: children, failures: 1), options: .init(lane: .high)))
                #expect(try await eventually { log.count >= 3 })
                // Time for a wrongly kept first-attempt batch to run too.
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(log.entries.map(\.sequence) == [0, 1, 2])
            let kinds = try await client.query("SELECT kind FROM jobs ORDER BY id").collect().map {
                try $0.decode(String.self)
            }
            #expect(kinds == (keepCompleted ? [SpawningJob.kind] + Array(repeating: RecordingJob.kind, count: 3) : []))
        }
    }

    /// A run whose lease is gone (reclaimed elsewhere) writes neither its completion nor its
    /// follow-ups, on each statement that writes completions.
    @Test(arguments: [false, true])
    func aCompletionWithoutItsLeaseEnqueuesNothing(keepCompleted: Bool) async throws {
        try await withClient { client in
            let queue = makeQueue(client, keepCompleted: keepCompleted)
            let child = try NewJob(RecordingJob.self, Step(sequence: 7))
            for path in ["write-back", "claim"] {
                try await client.query("TRUNCATE jobs")
                try await queue.enqueue(batch: [try NewJob(SpawningJob.self, Spawn(children: [], failures: 0))])
                let parent = try #require(
                    try await queue.claim(limits: [5, 5, 5], reclaim: 0, lease: .seconds(30)).first)
                func write(token: Int64) async throws -> Set<Int64> {
                    let outcome = JobOutcome(id: parent.id, leaseToken: token, kind: .completed, followUps: [child])
                    if path == "write-back" { return try await queue.writeBack([outcome]) }
                    return try await queue.claim(
                        limits: [0, 0, 0], reclaim: 0, lease: .seconds(30), writingBack: [outcome]
                    )
                    .writtenBack
                }
                #expect(try await write(token: parent.leaseToken &+ 1).isEmpty, "\(path)")
                #expect(try await client.count("SELECT count(*)::int FROM jobs WHERE kind = \(RecordingJob.kind)") == 0)
                #expect(try await write(token: parent.leaseToken) == [parent.id], "\(path)")
                #expect(
                    try await client.count(
                        "SELECT count(*)::int FROM jobs WHERE kind = \(RecordingJob.kind) AND state = 'available'")
                        == 1,
                    "\(path)")
            }
        }
    }

    /// The claim statement starts due follow-ups that head their ordering key, within its budget;
    /// the others wait as available jobs.
    @Test func theClaimStartsFollowUpsThatHeadTheirKey() async throws {
        try await withClient { client in
            let queue = makeQueue(client, keepCompleted: false)
            func step(_ sequence: Int, key: String? = nil, delay: Duration = .zero) throws -> NewJob {
                try NewJob(
                    RecordingJob.self, Step(key: key, sequence: sequence),
                    options: .init(lane: .high, delay: delay, orderingKey: key))
            }
            // A job holding key "busy" before any follow-up asks for it.
            try await queue.enqueue(batch: [try step(0, key: "busy", delay: .seconds(60))])
            func complete(with followUps: [NewJob], budget: Int) async throws -> (started: [Int], available: [Int]) {
                try await client.query(
                    "DELETE FROM jobs WHERE kind = \(RecordingJob.kind) AND (payload->>'sequence')::int > 0")
                try await queue.enqueue(batch: [try NewJob(SpawningJob.self, Spawn(children: [], failures: 0))])
                let parent = try #require(
                    try await queue.claim(limits: [0, 5, 0], reclaim: 0, lease: .seconds(30)).first)
                let claim = try await queue.claim(
                    limits: [0, 0, 0], reclaim: 0, lease: .seconds(30),
                    writingBack: [
                        JobOutcome(id: parent.id, leaseToken: parent.leaseToken, kind: .completed, followUps: followUps)
                    ],
                    startingFollowUps: budget)
                #expect(claim.writtenBack == [parent.id])
                let rows = try await client.query(
                    "SELECT (payload->>'sequence')::int, state::text, lease_token FROM jobs WHERE kind = \(RecordingJob.kind) AND (payload->>'sequence')::int > 0 ORDER BY id"
                ).collect().map { try $0.decode((Int, String, Int64?).self) }
                let running = rows.filter { $0.1 == "running" }
                #expect(running.allSatisfy { $0.2 == claim.startedFollowUps.first?.leaseToken })
                #expect(
                    Set(running.map(\.0))
                        == Set(
                            claim.startedFollowUps.map {
                                try! JSONDecoder().decode(Step.self, from: Data($0.payload.utf8)).sequence
                            }))
                return (running.map(\.0), rows.filter { $0.1 == "available" }.map(\.0))
            }
            let all = [
                try step(1, key: "k"), try step(2, key: "k"), try step(3), try step(4, delay: .seconds(60)),
                try step(5, key: "busy"), try step(6, key: "other"),
            ]
            var result = try await complete(with: all, budget: 10)
            #expect(result.started == [1, 3, 6])
            #expect(result.available == [2, 4, 5])
            result = try await complete(with: all, budget: 2)
            #expect(result.started == [1, 3])
            #expect(result.available == [2, 4, 5, 6])
            result = try await complete(with: all, budget: 0)
            #expect(result.started == [])
        }
    }

    /// Follow-ups keep unique keys (an unfinished job holding the key takes the place of the new
    /// one) and the order they were asked for, across parents that complete in one statement.
    @Test func followUpsKeepUniqueKeysAndOrder() async throws {
        try await withClient { client in
            let log = RunLog()
            var registry = JobRegistry.recording(log)
            registry.register(SpawningJob())
            let parents = 40
            try await withPool(client, registry: registry, keepCompleted: false) { queue, _ in
                // Held by a job that runs in the lowest lane's turn, after the spawned ones.
                try await queue.enqueue(
                    try NewJob(
                        RecordingJob.self, Step(sequence: -1),
                        options: .init(lane: .low, delay: .seconds(2), uniqueKey: "taken")))
                try await queue.enqueue(
                    batch: try (0..<parents).map { parent in
                        var children = (0..<2).map { Step(key: "ordered", sequence: parent * 2 + $0) }
                        if parent == 0 { children.append(Step(sequence: -2)) }
                        return try NewJob(
                            SpawningJob.self,
                            Spawn(children: children, failures: 0, uniqueKey: parent == 0 ? "taken" : nil),
                            options: .init(orderingKey: "parents"))
                    })
                #expect(try await eventually { log.count >= parents * 2 + 1 })
            }
            let ordered = log.entries.filter { $0.key == "ordered" }.map(\.sequence)
            #expect(ordered == Array(0..<parents * 2))
            #expect(log.entries.filter { $0.sequence < 0 }.map(\.sequence) == [-1], "the unique key was not kept")
        }
    }
}

struct Spawn: Codable, Sendable {
    var children: [Step]
    /// Fail this many first attempts (after asking for the follow-ups).
    var failures: Int
    /// A unique key for the children without an ordering key.
    var uniqueKey: String?
}

/// Asks for its children as follow-ups, then fails its first `failures` attempts.
struct SpawningJob: JobHandler {
    typealias Payload = Spawn
    static let kind = "test.spawning"
    static let defaultRetryPolicy = RetryPolicy(maxAttempts: 5, base: .milliseconds(50), cap: .milliseconds(200))

    func handle(_ payload: Spawn, context: JobContext) async throws {
        context.enqueueOnCompletion(
            try payload.children.map { child in
                try NewJob(
                    RecordingJob.self, child,
                    options: .init(
                        lane: .high, uniqueKey: child.key == nil ? payload.uniqueKey : nil, orderingKey: child.key))
            })
        if context.attempt <= payload.failures {
            throw TestFailure(message: "planned failure \(context.attempt)")
        }
    }
}
