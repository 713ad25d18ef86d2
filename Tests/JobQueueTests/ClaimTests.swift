import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

@Suite(.database, .serialized, .timeLimit(.minutes(3))) struct ClaimTests {
    func withClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        try await TestDatabase.required.withClient { client in
            try await client.query("TRUNCATE jobs")
            return try await body(client)
        }
    }

    /// Both write-back paths: completions deleted with the next claim (the default), or kept.
    @Test(.serialized, arguments: [false, true])
    func eightConcurrentWorkersClaimTwentyThousandJobsExactlyOnce(keepCompleted: Bool) async throws {
        try await withClient { client in
            let log = RunLog()
            let registry = JobRegistry.recording(log)
            let queue = makeQueue(client)
            for start in stride(from: 0, to: 20_000, by: 5000) {
                try await queue.enqueue(
                    batch: try (start..<start + 5000).map {
                        try NewJob(RecordingJob.self, Step(sequence: $0))
                    })
            }
            // Eight independent pools, each its own claim loop, as eight processes would be.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await withPool(
                            client, registry: registry, keepCompleted: keepCompleted,
                            configure: {
                                $0.concurrency = 16
                                $0.fetchers = 1
                            }
                        ) { _, _ in
                            _ = try await eventually(timeout: .seconds(120)) { log.count >= 20_000 }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let runs = log.runs
            #expect(runs.count == 20_000)
            #expect(runs.values.allSatisfy { $0 == 1 }, "\(runs.values.filter { $0 > 1 }.count) jobs ran twice")
            if keepCompleted {
                #expect(try await client.count("SELECT count(*)::int FROM jobs WHERE state = 'completed'") == 20_000)
            } else {
                #expect(try await client.count("SELECT count(*)::int FROM jobs") == 0)
            }
        }
    }

    @Test func completedJobsAreDeletedUnlessKept() async throws {
        try await withClient { client in
            let log = RunLog()
            let registry = JobRegistry.recording(log)
            try await withPool(client, registry: registry, keepCompleted: false) { queue, _ in
                let ids = try await queue.enqueue(batch: [
                    try NewJob(RecordingJob.self, Step(sequence: 1)),
                    try NewJob(RecordingJob.self, Step(sequence: 2, failures: 9), options: .init(maxAttempts: 1)),
                ]).map(\.id)
                #expect(try await eventually { log.count == 2 })
                #expect(
                    try await eventually {
                        try await client.count("SELECT count(*)::int FROM jobs WHERE id = \(ids[0])") == 0
                    })
                // A failure is kept either way, for inspection and `afx jobs retry`.
                #expect(try await eventually { try await client.state(of: ids[1]) == "discarded" })
            }
        }
    }

    @Test func aStaleLeaseCannotCompleteOrFailTheJob() async throws {
        try await withClient { client in
            let queue = makeQueue(client)
            let id = try await queue.enqueue(try NewJob(kind: "test.lease", payload: Step(sequence: 1))).id
            let first = try await queue.claim(limits: [0, 1, 0], reclaim: 0, lease: .milliseconds(200))
            #expect(first.map(\.id) == [id])
            // Nothing else is claimable while the lease holds.
            #expect(try await queue.claim(limits: [0, 1, 0], reclaim: 1, lease: .seconds(5)).isEmpty)
            try await Task.sleep(for: .milliseconds(300))
            // The lease lapsed: the claim statement itself reclaims the job.
            let second = try await queue.claim(limits: [0, 0, 0], reclaim: 1, lease: .seconds(5))
            #expect(second.map(\.id) == [id])
            #expect(second[0].attempt == 2)
            #expect(second[0].leaseToken != first[0].leaseToken)

            let staleComplete = JobOutcome(id: id, leaseToken: first[0].leaseToken, kind: .completed)
            let staleFail = JobOutcome(
                id: id, leaseToken: first[0].leaseToken, kind: .discarded(error: "stale worker says it failed"))
            #expect(try await queue.writeBack([staleComplete]).isEmpty)
            #expect(try await queue.writeBack([staleFail]).isEmpty)
            #expect(try await client.state(of: id) == "running")
            #expect(try await queue.renewLeases([(id, first[0].leaseToken)], lease: .seconds(5)).isEmpty)

            #expect(
                try await queue.writeBack([JobOutcome(id: id, leaseToken: second[0].leaseToken, kind: .completed)]) == [
                    id
                ])
            #expect(try await client.state(of: id) == "completed")
            // A second write-back with the same (now spent) token changes nothing.
            #expect(
                try await queue.writeBack([JobOutcome(id: id, leaseToken: second[0].leaseToken, kind: .completed)])
                    .isEmpty)
        }
    }

    @Test(.serialized, arguments: [false, true])
    func jobsSharingAKeyRunOneAtATimeInOrderAcrossWorkersAndRetries(keepCompleted: Bool) async throws {
        try await withClient { client in
            let log = RunLog()
            let registry = JobRegistry.recording(log)
            let queue = makeQueue(client)
            // 20 keys × 30 jobs, interleaved; every 7th job fails once and is retried.
            var jobs: [NewJob] = []
            for sequence in 0..<30 {
                for key in 0..<20 {
                    jobs.append(
                        try NewJob(
                            RecordingJob.self,
                            Step(
                                key: "pair-\(key)", sequence: sequence,
                                failures: (sequence * 20 + key) % 7 == 0 ? 1 : 0,
                                sleepMilliseconds: Int.random(in: 0...3)),
                            options: .init(orderingKey: "pair-\(key)")))
                }
            }
            try await queue.enqueue(batch: jobs)
            // Two pools so the ordering must hold across claim loops, not just inside one.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await withPool(
                            client, registry: registry, keepCompleted: keepCompleted, configure: { $0.concurrency = 16 }
                        ) { _, _ in
                            _ = try await eventually(timeout: .seconds(60)) {
                                try await client.count(
                                    "SELECT count(*)::int FROM jobs WHERE state IN ('available', 'running')") == 0
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await client.count("SELECT count(*)::int FROM jobs WHERE state <> 'completed'") == 0)
            #expect(try await client.count("SELECT count(*)::int FROM jobs") == (keepCompleted ? 600 : 0))
            #expect(log.maxInFlightByKey == 1)
            // Per key, runs start in sequence order; a retried job runs again before its successor.
            for key in 0..<20 {
                let sequences = log.entries.filter { $0.key == "pair-\(key)" }.map(\.sequence)
                #expect(sequences == sequences.sorted(), "pair-\(key): \(sequences)")
                #expect(Set(sequences).count == 30)
            }
            #expect(log.entries.contains { $0.attempt == 2 })
        }
    }

    @Test func aSaturatedHighLaneDoesNotStarveTheLowLane() async throws {
        try await withClient { client in
            let log = RunLog()
            let registry = JobRegistry.recording(log)
            let queue = makeQueue(client)
            try await queue.enqueue(
                batch: try (0..<3000).map {
                    try NewJob(
                        RecordingJob.self, Step(key: "high", sequence: $0, sleepMilliseconds: 5),
                        options: .init(lane: .high))
                })
            try await queue.enqueue(
                batch: try (0..<3000).map {
                    try NewJob(
                        RecordingJob.self, Step(key: nil, sequence: $0, sleepMilliseconds: 5),
                        options: .init(lane: .low))
                })
            try await withPool(
                client, registry: registry,
                configure: {
                    $0.concurrency = 14
                    $0.fetchers = 1
                    $0.laneWeights = [6, 3, 1]
                }
            ) { _, _ in
                _ = try await eventually(timeout: .seconds(60)) { log.count >= 1400 }
            }
            let entries = log.entries.prefix(1400)
            let high = entries.filter { $0.key == "high" }.count
            let low = entries.count - high
            let lowShare = Double(low) / Double(entries.count)
            // Low's weight is 1 of 7 (medium is idle, its share is lent out): about 14 %.
            #expect(low > 0)
            #expect(lowShare > 0.09 && lowShare < 0.22, "low lane got \(low) of \(entries.count) runs")
        }
    }

    @Test func notifyWakesAnIdlePoolAndPollingWorksWithoutIt() async throws {
        try await withClient { client in
            let log = RunLog()
            let registry = JobRegistry.recording(log)
            // A 30 s poll interval: only the NOTIFY from another queue instance (another process)
            // can start the job quickly.
            try await withPool(client, registry: registry, configure: { $0.pollInterval = .seconds(30) }) { _, _ in
                try await Task.sleep(for: .milliseconds(300))
                let producer = makeQueue(client)
                let started = ContinuousClock.now
                try await producer.enqueue(batch: [try NewJob(RecordingJob.self, Step(sequence: 1))])
                #expect(try await eventually(timeout: .seconds(5)) { log.count == 1 })
                #expect(ContinuousClock.now - started < .seconds(5))
            }
            // Without LISTEN (as behind PgBouncer) the poll still finds work.
            try await withPool(
                client, registry: registry,
                configure: {
                    $0.listen = false
                    $0.pollInterval = .milliseconds(200)
                }
            ) { _, _ in
                let producer = makeQueue(client)
                try await producer.enqueue(batch: [try NewJob(RecordingJob.self, Step(sequence: 2))])
                #expect(try await eventually(timeout: .seconds(5)) { log.count == 2 })
            }
        }
    }
}

extension ClaimTests {
    /// A key's next job is claimable in the very statement that completes its predecessor (the
    /// completion rides along), so an ordered stream needs one claim per job, not two. A
    /// predecessor whose lease is not held (a wrong token) still blocks it.
    @Test func successorIsClaimedWithItsPredecessorsCompletion() async throws {
        try await withClient { client in
            // Completions ride on the claim only when completed jobs are not kept.
            let queue = makeQueue(client, keepCompleted: false)
            try await queue.enqueue(
                batch: try (0..<2).map {
                    try NewJob(RecordingJob.self, Step(sequence: $0), options: .init(orderingKey: "chat-1"))
                })
            let first = try await queue.claim(limits: [10, 10, 10], reclaim: 0, lease: .seconds(30))
            #expect(first.count == 1)
            let head = try #require(first.first)

            let forged = JobOutcome(id: head.id, leaseToken: head.leaseToken &+ 1, kind: .completed)
            let blocked = try await queue.claim(
                limits: [10, 10, 10], reclaim: 0, lease: .seconds(30), writingBack: [forged])
            #expect(blocked.jobs.isEmpty)
            #expect(blocked.writtenBack.isEmpty)

            let done = JobOutcome(id: head.id, leaseToken: head.leaseToken, kind: .completed)
            let next = try await queue.claim(
                limits: [10, 10, 10], reclaim: 0, lease: .seconds(30), writingBack: [done])
            #expect(next.writtenBack == [head.id])
            #expect(next.jobs.count == 1)
            #expect(next.jobs.first.map { $0.id > head.id } == true)
        }
    }
}

extension ClaimTests {
    /// A busy loop (more than half its slots running) does not ask every lane again after a job
    /// finishes; a keyed job's completion still asks its lane, so the key's next job starts with
    /// that completion rather than when the loop goes idle. The busy jobs run for 30 s, and a busy
    /// loop's poll does not ask every lane again either: the successor must start while they
    /// still run, so the poll is an hour.
    @Test func aBusyLoopStartsAKeysNextJobWithItsPredecessorsCompletion() async throws {
        try await withClient { client in
            let log = RunLog()
            try await withUnpolledPool(client, log: log, concurrency: 8) { queue in
                for sequence in 0..<5 {
                    try await queue.enqueue(
                        try NewJob(RecordingJob.self, Step(sequence: sequence, sleepMilliseconds: 30_000)))
                }
                #expect(try await eventually(timeout: .seconds(15)) { log.count == 5 })
                // Three slots are free; the second keyed job waits behind the first, so the claim
                // that took the first found its lane short of work.
                try await queue.enqueue(
                    batch: try (10..<12).map {
                        try NewJob(
                            RecordingJob.self, Step(key: "k", sequence: $0, sleepMilliseconds: 200),
                            options: .init(orderingKey: "k"))
                    })
                #expect(try await eventually(timeout: .seconds(10)) { log.entries.map(\.sequence).contains(11) })
                #expect(Array(log.entries.map(\.sequence).suffix(2)) == [10, 11])
                #expect(try await client.count("SELECT count(*)::int FROM jobs WHERE state = 'running'") >= 5)
            }
        }
    }
}

extension ClaimTests {
    /// On a claim pool's connections (`JobQueue.claimPoolConfiguration`) every claim runs the
    /// statement's generic plan; on plain ones PostgreSQL plans it afresh (a custom plan) at least
    /// for the first five calls on each connection, and under a backlog on every call.
    @Test(arguments: [true, false])
    func claimsOnTheClaimPoolRunTheGenericPlan(claimPool: Bool) async throws {
        try await withClient { client in
            let plain = try TestDatabase.required.url.clientConfiguration(applicationName: "afx-test-claims")
            let configuration = claimPool ? JobQueue.claimPoolConfiguration(plain, fetchers: 1) : plain
            try await withOneClaimConnection(client, configuration) { queue, claims in
                try await queue.enqueue(
                    batch: try (0..<2000).map { try NewJob(RecordingJob.self, Step(sequence: $0)) })
                var claimed = 0
                for _ in 0..<10 {
                    claimed += try await queue.claim(limits: [8, 8, 8], reclaim: 8, lease: .seconds(30)).count
                }
                #expect(claimed == 80)
                let rows = try await claims.query(
                    """
                    SELECT generic_plans, custom_plans FROM pg_prepared_statements
                    WHERE statement LIKE 'WITH relaxed AS%' AND statement LIKE '%FOR UPDATE SKIP LOCKED%'
                    """)
                var plans: [(generic: Int64, custom: Int64)] = []
                for try await (generic, custom) in rows.decode((Int64, Int64).self) { plans.append((generic, custom)) }
                #expect(plans.count == 1)
                if claimPool {
                    #expect(plans.first?.generic == 10)
                    #expect(plans.first?.custom == 0)
                } else {
                    #expect((plans.first?.custom ?? 0) >= 5)
                }
            }
        }
    }
}

extension ClaimTests {
    /// The generic plan cannot know a claim takes a few jobs; whatever the backlog, the claim must
    /// find the rows it updates by primary key, not hash them against a scan of the whole table
    /// (37.6 ms a claim with 100,000 jobs waiting), and must not be JIT-compiled however dear its
    /// estimate (374 ms a claim with 200,000 waiting): the JIT threshold is 0 here.
    @Test func theClaimsGenericPlanUpdatesByPrimaryKeyWithoutJIT() async throws {
        try await withClient { client in
            var plain = try TestDatabase.required.url.clientConfiguration(applicationName: "afx-test-claims")
            plain.options.additionalStartupParameters += [("jit_above_cost", "0")]
            try await withOneClaimConnection(client, JobQueue.claimPoolConfiguration(plain, fetchers: 1)) {
                queue, claims in
                for start in stride(from: 0, to: 20_000, by: 5000) {
                    try await queue.enqueue(
                        batch: try (start..<start + 5000).map { try NewJob(RecordingJob.self, Step(sequence: $0)) })
                }
                try await client.query("ANALYZE jobs")
                #expect(try await queue.claim(limits: [8, 8, 8], reclaim: 8, lease: .seconds(30)).count == 8)
                let names = try await claims.query(
                    "SELECT name FROM pg_prepared_statements WHERE statement LIKE 'WITH relaxed AS%'"
                ).collect().map { try $0.decode(String.self) }
                let name = try #require(names.first)
                let plan = try await claims.query(
                    PostgresQuery(
                        unsafeSQL: """
                            EXPLAIN (FORMAT JSON) EXECUTE "\(name)"(8, 8, 8, 8, 1, 30000, '{}', '{}', '{}', '{}', '{}',
                                '{}', '{}', '{}', '{}', '{}', false, 0)
                            """)
                ).collect().map { try $0.decode(String.self) }.joined()
                let update = try #require(Self.nodes(in: plan).first { $0["Operation"] as? String == "Update" })
                let scan = try #require(
                    (update["Plans"] as? [[String: Any]])?.first { $0["Parent Relationship"] as? String == "Outer" })
                #expect(scan["Node Type"] as? String == "Index Scan", "\(scan)")
                #expect(scan["Index Name"] as? String == "jobs_pkey", "\(scan)")
                #expect(!plan.contains("\"JIT\""), "\(plan)")
            }
        }
    }

    /// A queue whose claims go to a client of one connection opened with `configuration`, so what
    /// the test then reads on `claims` (prepared statements, plans) is the claiming session's.
    func withOneClaimConnection(
        _ client: PostgresClient, _ configuration: PostgresClient.Configuration,
        _ body: (JobQueue, PostgresClient) async throws -> Void
    ) async throws {
        var configuration = configuration
        configuration.options.maximumConnections = 1
        try await TestDatabase.withClient(configuration: configuration) { claims in
            try await body(JobQueue(client: client, claimClient: claims, logger: testLogger()), claims)
        }
    }

    /// Every node of an EXPLAIN (FORMAT JSON) plan.
    static func nodes(in json: String) -> [[String: Any]] {
        guard let top = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]],
            let root = top.first?["Plan"] as? [String: Any]
        else { return [] }
        var nodes: [[String: Any]] = []
        var pending = [root]
        while let node = pending.popLast() {
            nodes.append(node)
            pending += node["Plans"] as? [[String: Any]] ?? []
        }
        return nodes
    }
}

extension ClaimTests {
    /// A job enqueued while a claim is in flight is claimed without waiting for a poll: the
    /// claim's "this lane came back short" must not erase the "this lane has work" the enqueue
    /// signalled meanwhile. (Before the fix the loop then asked only a lane the allocator had left
    /// unasked, found nothing, and slept until the poll: rounds stalled with 4 of 5 jobs unrun.)
    /// Single enqueues back to back, a round's jobs in one lane, with no poll to fall back on (an
    /// hour) and no NOTIFY.
    @Test func jobsEnqueuedOneAtATimeDuringClaimsAreNeverLeftForThePoll() async throws {
        try await withClient { client in
            // Each row a claim starts takes 20 ms, so the next enqueue (issued as soon as the last
            // returned) commits and signals while the claim that took its predecessor still runs.
            try await client.query(
                """
                CREATE FUNCTION pg_temp_slow_start() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$
                """)
            try await client.query(
                """
                CREATE TRIGGER slow_start BEFORE UPDATE ON jobs FOR EACH ROW
                WHEN (NEW.state = 'running' AND OLD.state <> 'running') EXECUTE FUNCTION pg_temp_slow_start()
                """)
            let log = RunLog()
            try await withUnpolledPool(client, log: log, concurrency: 6) { queue in
                let stall = try await Self.enqueueOneAtATime(rounds: 60, into: queue, log: log)
                #expect(stall == nil, "\(stall ?? "")")
            }
            try await client.query("DROP TRIGGER slow_start ON jobs")
            try await client.query("DROP FUNCTION pg_temp_slow_start()")
        }
    }

    /// Rounds of five single enqueues, a round's jobs in one lane, the lanes in turn; after each round
    /// waits up to 5 s for all to have run. Returns the first round that did not, described.
    static func enqueueOneAtATime(rounds: Int, into queue: JobQueue, log: RunLog) async throws -> String? {
        var enqueued = 0
        for round in 0..<rounds {
            for index in 0..<5 {
                let job = try NewJob(
                    RecordingJob.self, Step(sequence: enqueued, sleepMilliseconds: index * 2),
                    options: .init(lane: Lane.allCases[round % 3]))
                try await queue.enqueue(job)
                enqueued += 1
            }
            let expected = enqueued
            if try await !eventually(timeout: .seconds(5), { log.count == expected }) {
                return "round \(round): \(log.count) of \(expected) jobs ran"
            }
        }
        return nil
    }
}

extension ClaimTests {
    /// Runs `body` once a pool of `concurrency` workers with one claim loop, no LISTEN and an
    /// hourly poll listens for local work: only local wake-ups start anything in time.
    func withUnpolledPool(
        _ client: PostgresClient, log: RunLog, concurrency: Int, _ body: (JobQueue) async throws -> Void
    ) async throws {
        try await withPool(
            client, registry: .recording(log), keepCompleted: false,
            configure: {
                $0.concurrency = concurrency
                $0.fetchers = 1
                $0.listen = false
                $0.pollInterval = .seconds(3600)
                $0.drainTimeout = .seconds(1)
            }
        ) { queue, _ in
            #expect(try await queue.localWorkersRun())
            try await body(queue)
        }
    }
}
