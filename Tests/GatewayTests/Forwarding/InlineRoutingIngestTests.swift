import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import Gateway

/// An update routed in its request is stored with its deliver jobs instead of a route job; the
/// ingest starts those that head their pair's key. A chat whose route job is still queued or
/// running keeps its later updates on route jobs too, so no delivery overtakes the ones that job
/// will enqueue.
@Suite(.database, .serialized, .timeLimit(.minutes(3))) struct InlineRoutingIngestTests {
    /// Stands in for the deliver job: records each run (its pair and message) and holds it until
    /// released.
    struct HeldDeliver: JobHandler {
        struct Payload: Codable, Sendable {
            var pairID: Int64
            var sourceMessageID: Int64
        }
        static let kind = DeliverJob.kind
        let runs: Runs

        func handle(_ payload: Payload, context: JobContext) async throws {
            runs.begin("\(payload.pairID):\(payload.sourceMessageID)")
            while !runs.released { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    final class Runs: Sendable {
        private let state = Mutex<(runs: [String], released: Bool)>(([], false))
        func begin(_ run: String) { state.withLock { $0.runs.append(run) } }
        func release() { state.withLock { $0.released = true } }
        var released: Bool { state.withLock { $0.released } }
        var runs: [String] { state.withLock { $0.runs } }
    }

    /// A Telegram update of `chat`, routed to deliver jobs for `pairs` (delayed by `delay`, with
    /// `unique` as the unique key where given, else one per pair and event).
    static func routed(
        _ id: Int, chat: Int64, pairs: [Int64], delay: Duration = .zero, unique: String? = nil
    ) throws -> InboundUpdate {
        var update = try IngestLocalStartTests.update(id, chat: chat)
        update.deliveries = try pairs.map { pair in
            try NewJob(
                kind: DeliverJob.kind, payload: HeldDeliver.Payload(pairID: pair, sourceMessageID: Int64(id)),
                options: JobOptions(
                    lane: .high, delay: delay, uniqueKey: unique ?? "deliver:\(pair):\(InboundIngest.eventKey)",
                    orderingKey: "pair:\(pair)"))
        }
        return update
    }

    /// (kind, state, unique key, pair, message) of every job, in id order.
    static func jobs(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            """
            SELECT kind || ' ' || state::text || ' ' || coalesce(unique_key, '-') || ' '
                || coalesce(payload->>'pairID', '-') || ':' || coalesce(payload->>'sourceMessageID', '-')
            FROM jobs ORDER BY id
            """
        ).collect().map { try $0.decode(String.self) }
    }

    static func eventIDs(_ client: PostgresClient) async throws -> [Int64] {
        try await client.query("SELECT id FROM inbound_events ORDER BY id").collect().map { try $0.decode(Int64.self) }
    }

    func withQueue(
        _ client: PostgresClient,
        _ body: (JobQueue, @escaping (_ updates: [InboundUpdate]) async throws -> [Bool])
            async throws -> Void
    ) async throws {
        try await client.query("TRUNCATE jobs, inbound_events")
        let logger = Logger(label: "test.ingest")
        var configuration = JobQueue.Configuration()
        configuration.keepCompletedJobs = false
        let queue = JobQueue(client: client, configuration: configuration, logger: logger)
        try await body(queue) { updates in
            try await InboundIngest.store(updates, client: client, queue: queue, timeout: .seconds(10), logger: logger)
        }
    }

    @Test func routedUpdatesAreStoredWithTheirDeliverJobsAndNoRouteJob() async throws {
        try await TestDatabase.required.withClient { client in
            try await withQueue(client) { _, store in
                // No workers here: every job waits. Two pairs take chat A's first update; chat B's
                // update is taken by none (stored, no job at all); a duplicate stores nothing.
                let batch = [
                    try Self.routed(1, chat: -100, pairs: [11, 12]), try Self.routed(2, chat: -200, pairs: []),
                ]
                #expect(try await store(batch) == [true, true])
                #expect(try await store([try Self.routed(1, chat: -100, pairs: [11, 12])]) == [false])
                let event = try #require(try await Self.eventIDs(client).first)
                #expect(
                    try await Self.jobs(client) == [
                        "forward.deliver available deliver:11:\(event) 11:1",
                        "forward.deliver available deliver:12:\(event) 12:1",
                    ])
                #expect(try await Self.eventIDs(client).count == 2)

                // Album items share a unique key: the second finds the first's job waiting.
                try await client.query("TRUNCATE jobs")
                let album = [
                    try Self.routed(5, chat: -100, pairs: [11], delay: .seconds(30), unique: "album:11:g"),
                    try Self.routed(6, chat: -100, pairs: [11], delay: .seconds(30), unique: "album:11:g"),
                ]
                #expect(try await store(album) == [true, true])
                #expect(try await Self.jobs(client) == ["forward.deliver available album:11:g 11:5"])
                let delayed = try await client.query(
                    "SELECT count(*)::int FROM jobs WHERE run_at > now() + interval '20 s'"
                ).collect().map { try $0.decode(Int.self) }
                #expect(delayed == [1])
            }
        }
    }

    @Test func aChatWithARouteJobQueuedKeepsItsLaterUpdatesOnRouteJobs() async throws {
        try await TestDatabase.required.withClient { client in
            try await withQueue(client) { _, store in
                // Chat A's first update needs a route job (a /link command, say); its second, routed
                // in its request, arrives in the same batch, and its third in a later one: both get
                // route jobs, queued behind the first. Chat B, with none, keeps its deliveries.
                let first = try IngestLocalStartTests.update(1, chat: -100)
                #expect(
                    try await store([first, try Self.routed(2, chat: -100, pairs: [11])]) == [true, true])
                #expect(try await store([try Self.routed(3, chat: -100, pairs: [11])]) == [true])
                #expect(try await store([try Self.routed(4, chat: -200, pairs: [21])]) == [true])
                let events = try await Self.eventIDs(client)
                #expect(
                    try await Self.jobs(client) == [
                        "forward.route available - -:-", "forward.route available - -:-",
                        "forward.route available - -:-", "forward.deliver available deliver:21:\(events[3]) 21:4",
                    ])
                let routeEvents = try await client.query(
                    "SELECT (payload->>'eventID')::int8 FROM jobs WHERE kind = 'forward.route' ORDER BY id"
                ).collect().map { try $0.decode(Int64.self) }
                #expect(routeEvents == Array(events.prefix(3)))

                // Once chat A's route jobs are gone, its next routed update keeps its deliveries.
                try await client.query("DELETE FROM jobs WHERE kind = 'forward.route'")
                #expect(try await store([try Self.routed(7, chat: -100, pairs: [11])]) == [true])
                let latest = try #require(try await Self.eventIDs(client).last)
                #expect(try await Self.jobs(client).last == "forward.deliver available deliver:11:\(latest) 11:7")
            }
        }
    }

    @Test func deliverJobsThatHeadTheirPairStartAtIngestAndTheRestQueueInOrder() async throws {
        try await TestDatabase.required.withClient { client in
            try await withQueue(client) { queue, store in
                let runs = Runs()
                var registry = JobRegistry()
                registry.register(HeldDeliver(runs: runs))
                try await withLocalWorkers(queue: queue, registry: registry, logger: Logger(label: "test.ingest")) {
                    defer { runs.release() }
                    // Pair 11's first delivery starts, its second waits behind it; pair 12's starts;
                    // a delayed one waits for its time.
                    let batch = [
                        try Self.routed(1, chat: -100, pairs: [11, 12]), try Self.routed(2, chat: -100, pairs: [11]),
                        try Self.routed(3, chat: -300, pairs: [31], delay: .seconds(60)),
                    ]
                    #expect(try await store(batch) == [true, true, true])
                    let states = try await client.query("SELECT state::text FROM jobs ORDER BY id").collect().map {
                        try $0.decode(String.self)
                    }
                    #expect(states == ["running", "running", "available", "available"])
                    #expect(try await eventually(timeout: .seconds(3)) { Set(runs.runs) == ["11:1", "12:1"] })
                    runs.release()
                    #expect(try await eventually { runs.runs.count == 3 })
                    #expect(runs.runs.filter { $0.hasPrefix("11:") } == ["11:1", "11:2"])
                    #expect(try await eventually { try await Self.jobs(client).count == 1 })
                }
            }
        }
    }
}
