import Foundation
import PostgresNIO
import TestSupport
import Testing

@testable import JobQueue

@Suite(.database, .serialized, .timeLimit(.minutes(3))) struct EnqueueTests {
    func withClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        try await TestDatabase.required.withClient { client in
            try await client.query("TRUNCATE jobs")
            return try await body(client)
        }
    }

    @Test func aBatchKeepsItsOrderAndOptions() async throws {
        try await withClient { client in
            let queue = makeQueue(client)
            let jobs = try (0..<50).map {
                try NewJob(
                    kind: "test.batch", payload: Step(sequence: $0),
                    options: JobOptions(lane: .low, delay: .seconds(60), maxAttempts: 3, orderingKey: "k"))
            }
            let results = try await queue.enqueue(batch: jobs)
            #expect(results.count == 50)
            #expect(results.allSatisfy { $0.inserted })
            #expect(results.map(\.id) == results.map(\.id).sorted())
            let rows = try await client.query(
                """
                SELECT (payload->>'sequence')::int, lane, max_attempts, ordering_key, run_at > now() + interval '50 seconds'
                FROM jobs ORDER BY id
                """
            ).collect()
            for (index, row) in rows.enumerated() {
                let (sequence, lane, maxAttempts, key, delayed) = try row.decode((Int, Int16, Int32, String, Bool).self)
                #expect(sequence == index)
                #expect(lane == Lane.low.rawValue && maxAttempts == 3 && key == "k" && delayed)
            }
        }
    }

    @Test func aUniqueKeyEnqueuesOnceAndReportsTheExistingJob() async throws {
        try await withClient { client in
            let queue = makeQueue(client)
            let options = JobOptions(uniqueKey: "health:42")
            let first = try await queue.enqueue(
                try NewJob(kind: "test.unique", payload: Step(sequence: 1), options: options))
            let second = try await queue.enqueue(
                try NewJob(kind: "test.unique", payload: Step(sequence: 2), options: options))
            #expect(first.inserted)
            #expect(!second.inserted)
            #expect(second.id == first.id)
            // Duplicates inside one batch, next to unkeyed jobs.
            let batch = try await queue.enqueue(batch: [
                try NewJob(kind: "test.unique", payload: Step(sequence: 3), options: .init(uniqueKey: "a")),
                try NewJob(kind: "test.unique", payload: Step(sequence: 4)),
                try NewJob(kind: "test.unique", payload: Step(sequence: 5), options: .init(uniqueKey: "a")),
                try NewJob(kind: "test.unique", payload: Step(sequence: 6), options: options),
            ])
            #expect(batch.map(\.inserted) == [true, true, false, false])
            #expect(batch[2].id == batch[0].id)
            #expect(batch[3].id == first.id)
            #expect(try await client.count("SELECT count(*)::int FROM jobs") == 3)
            // Once the job is finished the key is free again.
            try await client.query("UPDATE jobs SET state = 'completed', finished_at = now() WHERE id = \(first.id)")
            let third = try await queue.enqueue(
                try NewJob(kind: "test.unique", payload: Step(sequence: 7), options: options))
            #expect(third.inserted && third.id != first.id)
        }
    }

    @Test func enqueueInsideACallersTransactionCommitsOrRollsBackWithIt() async throws {
        try await withClient { client in
            let queue = makeQueue(client)
            struct Rollback: Error {}
            let error = await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: testLogger()) { connection in
                    try await queue.enqueue([try NewJob(kind: "test.tx", payload: Step(sequence: 1))], on: connection)
                    throw Rollback()
                }
            }
            #expect(error?.closureError is Rollback)
            #expect(try await client.count("SELECT count(*)::int FROM jobs") == 0)
            let ids = try await client.withTransaction(logger: testLogger()) { connection in
                try await connection.query("CREATE TEMP TABLE side_effect (x int) ON COMMIT DROP", logger: testLogger())
                return try await queue.enqueue(
                    [try NewJob(kind: "test.tx", payload: Step(sequence: 2))], on: connection)
            }
            #expect(try await client.count("SELECT count(*)::int FROM jobs WHERE id = \(ids[0].id)") == 1)
        }
    }

    @Test func concurrentSingleEnqueuesAreGroupCommitted() async throws {
        try await withClient { client in
            try await withPool(client, registry: JobRegistry(), configure: { $0.concurrency = 1 }) { queue, _ in
                let before = queue.groupCommitFlushes
                let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
                    for caller in 0..<64 {
                        group.addTask {
                            var ids: [Int64] = []
                            for index in 0..<20 {
                                // Delayed so the (handler-less) pool leaves them alone.
                                let job = try NewJob(
                                    kind: "test.group", payload: Step(sequence: caller * 100 + index),
                                    options: .init(delay: .seconds(3600)))
                                let result = try await queue.enqueue(job)
                                // Committed by the time enqueue returns: another connection sees it.
                                ids.append(result.id)
                            }
                            return ids
                        }
                    }
                    return try await group.reduce(into: [Int64]()) { $0 += $1 }
                }
                #expect(Set(ids).count == 1280)
                #expect(try await client.count("SELECT count(*)::int FROM jobs WHERE id = ANY(\(ids))") == 1280)
                let flushes = queue.groupCommitFlushes - before
                #expect(flushes < 1280 / 4, "\(flushes) flushes for 1280 enqueues")
            }
        }
    }

    @Test func statsCountByStateKindAndLaneAndAgeTheOldestDueJob() async throws {
        try await withClient { client in
            let queue = makeQueue(client)
            try await queue.enqueue(
                batch: try (0..<3).map {
                    try NewJob(kind: "test.a", payload: Step(sequence: $0), options: .init(lane: .high))
                })
            try await queue.enqueue(batch: [
                try NewJob(kind: "test.b", payload: Step(sequence: 0), options: .init(lane: .low))
            ])
            try await client.query("UPDATE jobs SET run_at = now() - interval '90 seconds' WHERE kind = 'test.b'")
            let stats = try await queue.stats()
            #expect(stats.count(state: .available, kind: "test.a", lane: .high) == 3)
            #expect(stats.count(kind: "test.b") == 1)
            #expect(stats.oldestDueSecondsByLane["low"]! >= 89)
            #expect(stats.oldestDueSeconds >= 89)
        }
    }

    @Test func pruningDeletesFinishedJobsPastTheirRetention() async throws {
        try await withClient { client in
            let queue = makeQueue(client)
            let ids = try await queue.enqueue(
                batch: try (0..<6).map { try NewJob(kind: "test.prune", payload: Step(sequence: $0)) }
            ).map(\.id)
            try await client.query(
                """
                UPDATE jobs SET state = (CASE WHEN id IN (\(ids[0]), \(ids[1])) THEN 'completed'
                                              WHEN id = \(ids[2]) THEN 'cancelled' ELSE 'discarded' END)::job_state,
                    finished_at = now() - interval '2 hours'
                WHERE id <> \(ids[5])
                """)
            try await client.query("UPDATE jobs SET finished_at = now() WHERE id = \(ids[1])")
            let deleted = try await queue.prune(retention: .seconds(3600), discardedRetention: .seconds(86400))
            // The old completed job goes; the fresh completed one, the cancelled and discarded ones
            // (kept a day for `afx jobs retry`) and the unfinished job stay.
            #expect(deleted == 1)
            let left = try await client.query("SELECT id FROM jobs ORDER BY id").collect().map {
                try $0.decode(Int64.self)
            }
            #expect(left == [ids[1], ids[2], ids[3], ids[4], ids[5]])
            #expect(try await queue.prune(retention: .seconds(3600), discardedRetention: .seconds(60)) == 3)
        }
    }
}
