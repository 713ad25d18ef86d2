import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import Gateway

/// The webhook ingest starts the route jobs it inserts on this process's workers, without a
/// claim, where the job heads its chat's ordering key; the others wait in the queue.
@Suite(.database, .serialized, .timeLimit(.minutes(3))) struct IngestLocalStartTests {
    /// Stands in for the route job: records each run (its event id) and holds it until released.
    struct HeldRoute: JobHandler {
        struct Payload: Codable, Sendable {
            var eventID: Int64
        }
        static let kind = RouteJob.kind
        let runs: Runs

        func handle(_ payload: Payload, context: JobContext) async throws {
            runs.begin(payload.eventID)
            while !runs.released { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    final class Runs: Sendable {
        private let state = Mutex<(events: [Int64], released: Bool)>(([], false))
        func begin(_ event: Int64) { state.withLock { $0.events.append(event) } }
        func release() { state.withLock { $0.released = true } }
        var released: Bool { state.withLock { $0.released } }
        var events: [Int64] { state.withLock { $0.events } }
    }

    static func update(_ id: Int, chat: Int64) throws -> InboundUpdate {
        let json = """
            {"update_id":\(id),"message":{"message_id":\(id),"date":1700000000,\
            "chat":{"id":\(chat),"type":"group","title":"t"},"text":"m\(id)"}}
            """
        return try #require(try InboundUpdate.telegram(Data(json.utf8), accountID: 77, plan: "elite"))
    }

    /// (event id, job state, attempt, whether the payload carries the event) of each route job,
    /// by event id.
    static func routeJobs(_ client: PostgresClient) async throws -> [(Int64, String, Int, Bool)] {
        try await client.query(
            """
            SELECT (payload->>'eventID')::int8, state::text, attempt, payload ? 'event' FROM jobs
            WHERE kind = 'forward.route' ORDER BY (payload->>'eventID')::int8
            """
        ).collect().map { try $0.decode((Int64, String, Int, Bool).self) }
    }

    /// The stored update is the text Telegram sent, byte for byte (its spacing and key order
    /// too): what a route job or an album reads back is what arrived.
    @Test func theUpdateIsStoredAsSent() async throws {
        try await TestDatabase.required.withClient { client in
            try await client.query("TRUNCATE jobs, inbound_events")
            let logger = Logger(label: "test.ingest")
            let queue = JobQueue(client: client, configuration: JobQueue.Configuration(), logger: logger)
            let json = #"""
                { "update_id" : 501, "message" : {"text":"caf\u00e9  \ud83d\ude00", "message_id":501,
                "date":1700000000, "chat":{"type":"group","id":-500,"title":"t"}} }
                """#
            let update = try #require(try InboundUpdate.telegram(Data(json.utf8), accountID: 77, plan: "elite"))
            let stored = try await InboundIngest.store(
                [update], client: client, queue: queue, timeout: .seconds(10), logger: logger)
            #expect(stored == [true])
            let rows = try await client.query("SELECT payload::text FROM inbound_events").collect()
            #expect(try rows.map { try $0.decode(String.self) } == [json])
        }
    }

    @Test func routeJobsThatHeadTheirChatStartAtIngestAndTheRestQueueInOrder() async throws {
        try await TestDatabase.required.withClient { client in
            try await client.query("TRUNCATE jobs, inbound_events")
            let logger = Logger(label: "test.ingest")
            var queueConfiguration = JobQueue.Configuration()
            queueConfiguration.keepCompletedJobs = false
            let queue = JobQueue(client: client, configuration: queueConfiguration, logger: logger)
            func store(_ updates: [InboundUpdate]) async throws -> [Bool] {
                try await InboundIngest.store(
                    updates, client: client, queue: queue, timeout: .seconds(10), logger: logger)
            }

            // No workers in this process: every route job waits for a claim.
            #expect(try await store([try Self.update(1, chat: -300)]) == [true])
            // It names its event only: the worker that claims it reads the update back.
            #expect(try await Self.routeJobs(client).map { "\($0.1) \($0.2) \($0.3)" } == ["available 0 false"])
            try await client.query("TRUNCATE jobs, inbound_events")

            let runs = Runs()
            var registry = JobRegistry()
            registry.register(HeldRoute(runs: runs))
            try await withLocalWorkers(queue: queue, registry: registry, logger: logger) {
                defer { runs.release() }
                // Chat A's first update heads its key and starts; its second waits behind it.
                // Chat B's starts too; a duplicate is neither stored nor started.
                let batch = [
                    try Self.update(10, chat: -100), try Self.update(11, chat: -100), try Self.update(20, chat: -200),
                ]
                #expect(try await store(batch) == [true, true, true])
                #expect(try await store([try Self.update(20, chat: -200)]) == [false])
                let jobs = try await Self.routeJobs(client)
                // Those started here carry their event, so routing does not read it back.
                #expect(
                    jobs.map { "\($0.1) \($0.2) \($0.3)" } == ["running 1 true", "available 0 false", "running 1 true"])
                let (a1, a2, b1) = (jobs[0].0, jobs[1].0, jobs[2].0)
                #expect(try await eventually(timeout: .seconds(3)) { Set(runs.events) == [a1, b1] })

                // A later update of chat A does not start while A's jobs are queued or running.
                #expect(try await store([try Self.update(12, chat: -100)]) == [true])
                let a3 = try #require(try await Self.routeJobs(client).last)
                #expect("\(a3.1) \(a3.2)" == "available 0")

                // Once released, A's queued jobs run after their predecessor, in order, once each.
                runs.release()
                #expect(try await eventually { runs.events.count == 4 })
                #expect(try await eventually { try await Self.routeJobs(client).isEmpty })
                #expect(runs.events.filter { $0 != b1 } == [a1, a2, a3.0])
            }
        }
    }
}
