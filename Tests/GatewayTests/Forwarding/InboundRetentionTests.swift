import Foundation
import JobQueue
import Logging
import PostgresNIO
import TestSupport
import Testing

@testable import Gateway

/// Stored updates are deleted once past their retention, except while a forwarding job that may
/// read them still waits.
@Suite(.database, .serialized, .timeLimit(.minutes(2))) struct InboundRetentionTests {
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
            let retention = InboundRetention(client: client, retention: .seconds(7 * 86400), logger: logger)

            // A route job of eight days ago still waits: nothing it may read goes.
            try await client.query(
                """
                DELETE FROM jobs
                WHERE (payload->>'eventID')::int8 = (SELECT id FROM inbound_events WHERE external_id = '2')
                """)
            #expect(try await retention.prune() == 0)
            #expect(try await stored() == ["1", "2", "3"])

            // Once no old job waits, the old updates go (in batches), the recent one stays.
            try await client.query(
                """
                DELETE FROM jobs
                WHERE (payload->>'eventID')::int8 = (SELECT id FROM inbound_events WHERE external_id = '1')
                """)
            #expect(try await retention.prune(batchSize: 1) == 2)
            #expect(try await stored() == ["3"])

            // A retry of the kept update is still recognised; one of a deleted update is not.
            #expect(try await store([3]) == [false])
            #expect(try await store([1]) == [true])
        }
    }
}
