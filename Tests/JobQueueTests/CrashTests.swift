import Foundation
import JobQueue
import PostgresNIO
import Synchronization
import TestSupport
import Testing

/// The system.sleep job `afx work` runs (Gateway's SleepJob), for a worker in another process.
struct ExternalSleep: JobHandler {
    struct Payload: Codable, Sendable { var milliseconds: Int }
    static let kind = "system.sleep"
    let log: RunLog

    func handle(_ payload: Payload, context: JobContext) async throws {
        log.begin(id: context.id, key: nil, sequence: 0, attempt: context.attempt)
        try await Task.sleep(for: .milliseconds(payload.milliseconds))
    }
}

@Suite(.database, .serialized, .timeLimit(.minutes(3))) struct CrashTests {
    @Test func aWorkerKilledMidBatchLosesNoJob() async throws {
        let database = try TestDatabase.required
        try await database.withClient { client in
            try await client.query("TRUNCATE jobs")
            let queue = makeQueue(client)
            // Jobs long next to a claim cycle, so the kill lands while the worker holds some.
            let total = 120
            try await queue.enqueue(
                batch: try (0..<total).map { _ in
                    try NewJob(kind: ExternalSleep.kind, payload: ExternalSleep.Payload(milliseconds: 150))
                })
            let worker = try ChildProcess(
                RepoPaths.afxBinary, ["work"],
                environment: [
                    "PATH": "/usr/bin:/bin", "AFX_ENVIRONMENT": "development", "AFX_LOG_LEVEL": "warning",
                    "DATABASE_URL":
                        "postgres://afx@\(database.url.host):\(database.url.port)/\(database.url.database)?sslmode=disable",
                    "AFX_JOBS_CONCURRENCY": "8", "AFX_JOBS_LEASE": "2s", "AFX_JOBS_POLL_INTERVAL": "100ms",
                    "AFX_JOBS_RETENTION": "1h",
                ])
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    let completed = try await client.count("SELECT count(*)::int FROM jobs WHERE state = 'completed'")
                    let running = try await client.count("SELECT count(*)::int FROM jobs WHERE state = 'running'")
                    return completed >= 16 && running > 0
                }, "\(worker.report)")
            worker.signal(SIGKILL)
            _ = await worker.waitForExit(timeout: .seconds(5))
            let orphaned = try await client.query(
                "SELECT id FROM jobs WHERE state = 'running'"
            ).collect().map { try $0.decode(Int64.self) }
            #expect(!orphaned.isEmpty, "the worker should have died holding jobs")
            let killedAt = ContinuousClock.now

            let log = RunLog()
            var registry = JobRegistry()
            registry.register(ExternalSleep(log: log))
            let finished = try await withPool(client, registry: registry, configure: { $0.lease = .seconds(2) }) {
                _, _ in
                try await eventually(timeout: .seconds(60)) {
                    try await client.count("SELECT count(*)::int FROM jobs WHERE state = 'completed'") == total
                }
            }
            #expect(finished)
            // Every job completed, once; the dead worker's jobs came back within about a lease.
            #expect(try await client.count("SELECT count(*)::int FROM jobs WHERE state = 'completed'") == total)
            let reclaimed = try await client.query(
                "SELECT attempt, extract(epoch FROM attempted_at)::float8 FROM jobs WHERE id = ANY(\(orphaned))"
            ).collect().map { try $0.decode((Int32, Double).self) }
            #expect(reclaimed.allSatisfy { $0.0 == 2 })
            #expect(ContinuousClock.now - killedAt < .seconds(30))
            #expect(Set(log.entries.map(\.id)).isSuperset(of: orphaned))
        }
    }

    @Test func postgresRestartedMidRunLosesNothingAcknowledged() async throws {
        let cluster = try await PostgresCluster.start()
        do {
            let database = try await TestDatabase.create(on: cluster.url)
            try await database.withClient { client in
                let log = RunLog()
                var registry = JobRegistry()
                registry.register(RecordingJob(log: log))
                let acknowledged = IDList()
                try await withPool(client, registry: registry, configure: { $0.concurrency = 8 }) { queue, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            // A producer that keeps enqueueing; what the queue acknowledged must run.
                            for sequence in 0..<1500 {
                                let job = try NewJob(RecordingJob.self, Step(sequence: sequence, sleepMilliseconds: 1))
                                if let result = try? await queue.enqueue(job) {
                                    acknowledged.append(result.id)
                                }
                                try await Task.sleep(for: .milliseconds(2))
                            }
                        }
                        group.addTask {
                            try await Task.sleep(for: .seconds(1))
                            try await runProcess(
                                "/bin/bash",
                                [
                                    RepoPaths.path("scripts/lib/pg.sh"), "restart",
                                    cluster.directory.appendingPathComponent("cluster").path, "\(cluster.port)",
                                ])
                        }
                        try await group.waitForAll()
                    }
                    let ids = acknowledged.ids
                    #expect(ids.count > 500)
                    #expect(
                        try await eventually(timeout: .seconds(60)) {
                            let done = try? await client.count(
                                "SELECT count(*)::int FROM jobs WHERE state = 'completed' AND id = ANY(\(ids))")
                            return done == ids.count
                        })
                }
                let ids = acknowledged.ids
                #expect(Set(log.entries.map(\.id)).isSuperset(of: ids))
            }
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }
}
