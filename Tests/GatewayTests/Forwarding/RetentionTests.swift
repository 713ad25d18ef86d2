import Foundation
import JobQueue
import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

@testable import Gateway

/// Stored updates, message links and logs are deleted once past their retention, and only then.
@Suite(.database, .serialized, .timeLimit(.minutes(2))) struct RetentionTests {
    static func retention(_ client: PostgresClient) -> Retention {
        Retention(
            client: client,
            periods: .init(inbound: .seconds(7 * 86400), links: .seconds(90 * 86400), logs: .seconds(30 * 86400)),
            logger: Logger(label: "test.retention"))
    }

    @Test func updatesPastRetentionAreDeletedOnceNoWaitingJobMayReadThem() async throws {
        try await TestDatabase.required.withClient { client in
            try await client.query("TRUNCATE jobs, inbound_events")
            let logger = Logger(label: "test.retention")
            let queue = JobQueue(client: client, configuration: JobQueue.Configuration(), logger: logger)
            func store(_ ids: [Int]) async throws -> [Bool] {
                try await InboundIngest.store(
                    try ids.map { try IngestLocalStartTests.update($0, chat: -700) }, client: client, queue: queue,
                    timeout: .seconds(10), logger: logger)
            }
            func stored() async throws -> [String] {
                try await client.query("SELECT external_id FROM inbound_events ORDER BY id").collect()
                    .map { try $0.decode(String.self) }
            }
            // No workers here: each update waits with its route job. Updates 1 and 2 (and their
            // jobs) are eight days old.
            #expect(try await store([1, 2, 3]) == [true, true, true])
            try await client.query(
                "UPDATE inbound_events SET received_at = now() - interval '8 days' WHERE external_id IN ('1', '2')")
            try await client.query(
                """
                UPDATE jobs SET created_at = now() - interval '8 days'
                WHERE (payload->>'eventID')::int8 IN (SELECT id FROM inbound_events WHERE external_id IN ('1', '2'))
                """)
            let retention = Self.retention(client)

            // A route job of eight days ago still waits: nothing it may read goes.
            try await client.query(
                """
                DELETE FROM jobs
                WHERE (payload->>'eventID')::int8 = (SELECT id FROM inbound_events WHERE external_id = '2')
                """)
            #expect(try await retention.pruneInbound() == 0)
            #expect(try await stored() == ["1", "2", "3"])

            // Once no old job waits, the old updates go (in batches), the recent one stays.
            try await client.query(
                """
                DELETE FROM jobs
                WHERE (payload->>'eventID')::int8 = (SELECT id FROM inbound_events WHERE external_id = '1')
                """)
            #expect(try await retention.pruneInbound(batchSize: 1) == 2)
            #expect(try await stored() == ["3"])

            // A retry of the kept update is still recognised; one of a deleted update is not.
            #expect(try await store([3]) == [false])
            #expect(try await store([1]) == [true])
        }
    }

    @Test func logsAndLinksPastRetentionAreDeletedAndReportsStillCountThem() async throws {
        // No workers: the retention and rollup services would race the assertions.
        try await TestApp.with(configure: { $0.jobs.enabled = false }) { app in
            let client = app.app.postgres
            let user = try await app.signUp("retention@example.test", plan: "elite")
            let bot = try await app.linkTelegram(user, bot: 9400)
            let pair = try #require(
                try await app.api(
                    .POST, "/v1/pairs", token: user.accessToken,
                    json: pairJSON(source: ("telegram", bot, -710), destination: ("telegram", bot, 1))
                ).json().int("id"))
            let now = Date()
            let old = now.addingTimeInterval(-40 * 86400)
            // Messages 0-2 were forwarded forty days ago (their links a hundred), message 3 now, in
            // the order the deliver job writes them.
            for (message, time) in [old, old, old, now].enumerated() {
                let id = Int64(message)
                let linked = message < 3 ? now.addingTimeInterval(-100 * 86400) : now
                try await client.query(
                    """
                    INSERT INTO message_logs (user_id, pair_id, source_message_id, event, outcome, latency_ms, created_at)
                    VALUES (\(user.id), \(pair), \(id), 'create', 'delivered', 5, \(time))
                    """)
                try await client.query(
                    """
                    INSERT INTO error_logs (user_id, pair_id, source, code, message, created_at)
                    VALUES (\(user.id), \(pair), 'deliver', 'rejected', \("error \(message)"), \(time))
                    """)
                try await client.query(
                    """
                    INSERT INTO message_links
                        (pair_id, source_chat_id, source_message_id, dest_chat_id, dest_message_id, created_at)
                    VALUES (\(pair), -710, \(id), 1, \(100 + id), \(linked))
                    """)
            }
            let retention = Self.retention(client)
            let analytics = AnalyticsRepository(client: client)
            let deliveries = DeliveryRepository(client: client)
            func delivered() async throws -> Int64 {
                try await analytics.report(
                    scope: .init(pairID: pair), from: old.addingTimeInterval(-86400), to: now.addingTimeInterval(86400),
                    granularity: .day
                ).reduce(0) { $0 + $1.delivered }
            }
            func logged() async throws -> [Int64?] {
                try await deliveries.messageLogs(pairID: pair, limit: 10).items.map(\.sourceMessageID)
            }
            #expect(try await delivered() == 4)

            // Not rolled up yet, the old deliveries stay: reports count them from the log.
            #expect(try await retention.pruneDeliveryLogs(batchSize: 2) == 0)
            #expect(try await logged() == [3, 2, 1, 0])

            // Rolled up, they go (in batches); the pair's log keeps the recent one, reports all four.
            try await analytics.rollUp(settle: .zero)
            #expect(try await retention.pruneDeliveryLogs(batchSize: 2) == 3)
            #expect(try await logged() == [3])
            #expect(try await delivered() == 4)
            #expect(try await retention.pruneDeliveryLogs(batchSize: 2) == 0)

            #expect(try await retention.pruneErrorLogs(batchSize: 2) == 3)
            #expect(try await deliveries.errorLogs(pairID: pair, limit: 10).items.map(\.message) == ["error 3"])

            #expect(try await retention.pruneLinks(batchSize: 2) == 3)
            #expect(try await deliveries.links(pairID: pair, sourceMessageID: 0).isEmpty)
            #expect(try await deliveries.links(pairID: pair, sourceMessageID: 3).map(\.destMessageID) == [103])
        }
    }
}
