import ArgumentParser
import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Store
import Synchronization

struct BenchQueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Job engine: backlog drains, group-committed enqueue, steady-stream start latency.",
        discussion: """
            drain: 100k no-op jobs drained by the worker pool. ordered: the same with an ordering key on every job (1,000 keys). lanes: the same spread over all three lanes. enqueue: single enqueues from 64 concurrent callers, group-committed. stream: a steady 1,000 jobs/s, enqueue-to-start latency.
            """)

    @Option(help: "Jobs per drain.") var jobs = 100_000
    @Option(help: "Worker slots.") var concurrency = 128
    @Option(help: "Claim loops sharing the slots.") var fetchers = 2
    @Option(help: "Distinct ordering keys in the ordered drain.") var keys = 1000
    @Option(help: "Concurrent callers in the enqueue benchmark.") var callers = 64
    @Option(help: "Jobs enqueued in the enqueue benchmark.") var enqueueJobs = 50_000
    @Option(help: "Jobs per second in the stream benchmark.") var rate = 1000
    @Option(help: "Seconds of steady stream.") var seconds = 10
    @Option(help: "Comma-separated subset of drain,ordered,lanes,enqueue,stream.") var only =
        "drain,ordered,lanes,enqueue,stream"
    @Flag(help: "Print one JSON object at the end.") var json = false

    func run() async throws {
        var logger = Logger(label: "afx.bench")
        logger.logLevel = .warning
        let scenarios = Set(only.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        let database = try await BenchDatabase.make(logger: logger)
        var result: [String: Any] = [:]
        do {
            var configuration = database.url.clientConfiguration(applicationName: "afx-bench")
            configuration.options.maximumConnections = 40
            let client = PostgresClient(configuration: configuration)
            // The claim loops' own connections, as `afx serve` opens them.
            let claims = PostgresClient(
                configuration: JobQueue.claimPoolConfiguration(configuration, fetchers: fetchers))
            try await withRunningClient(client, claims) {
                let bench = QueueBench(client: client, claims: claims, command: self, logger: logger)
                if scenarios.contains("drain") {
                    result["drain_jobs_per_s"] = round1(
                        try await bench.drain(label: "drain") { _ in JobOptions(lane: .medium) })
                }
                if scenarios.contains("ordered") {
                    result["ordered_drain_jobs_per_s"] = round1(
                        try await bench.drain(label: "ordered drain") {
                            JobOptions(lane: .medium, orderingKey: "key-\($0 % keys)")
                        })
                }
                if scenarios.contains("lanes") {
                    result["lanes_drain_jobs_per_s"] = round1(
                        try await bench.drain(label: "three-lane drain") {
                            JobOptions(lane: Lane(rawValue: Int16($0 % 3))!)
                        })
                }
                if scenarios.contains("enqueue") {
                    result["enqueue_jobs_per_s"] = round1(try await bench.groupCommitEnqueue())
                }
                if scenarios.contains("stream") {
                    let (p50, p99, achieved) = try await bench.stream()
                    result["stream_latency_ms"] = ["p50": round2(p50), "p99": round2(p99)]
                    result["stream_jobs_per_s"] = round1(achieved)
                }
            }
        } catch {
            await database.tearDown()
            throw error
        }
        await database.tearDown()
        result["concurrency"] = concurrency
        result["fetchers"] = fetchers
        try printFigures(result, json: json)
    }
}

/// Counts handler runs and, for the stream, the delay from the enqueue call to the handler start.
final class BenchProbe: Sendable {
    let done = Atomic<Int>(0)
    let latencies = LatencyRecorder()
}

struct BenchJob: JobHandler {
    struct Payload: Codable, Sendable {
        /// Unix time of the enqueue call; 0 when latency is not measured.
        var sent: Double
    }
    static let kind = "bench.job"
    let probe: BenchProbe

    func handle(_ payload: Payload, context: JobContext) async throws {
        if payload.sent > 0 {
            probe.latencies.record((Date().timeIntervalSince1970 - payload.sent) * 1000)
        }
        probe.done.add(1, ordering: .relaxed)
    }
}

struct QueueBench {
    let client: PostgresClient
    let claims: PostgresClient
    let command: BenchQueueCommand
    let logger: Logger

    func poolConfiguration() -> WorkerPool.Configuration {
        var configuration = WorkerPool.Configuration()
        configuration.concurrency = command.concurrency
        configuration.fetchers = command.fetchers
        configuration.pollInterval = .milliseconds(200)
        return configuration
    }

    /// Runs the queue service and a worker pool around `body`, then shuts both down.
    func withWorkers<T: Sendable>(
        probe: BenchProbe, workers: Bool = true, _ body: (JobQueue) async throws -> T
    ) async throws -> T {
        let queue = JobQueue(client: client, claimClient: claims, logger: logger)
        var registry = JobRegistry()
        registry.register(BenchJob(probe: probe))
        var services: [any Service] = [queue]
        if workers {
            services.append(
                WorkerPool(queue: queue, registry: registry, configuration: poolConfiguration(), logger: logger))
        }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result = try await body(queue)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    func reset() async throws {
        try await client.query("TRUNCATE jobs")
        try await client.query("VACUUM ANALYZE jobs")
    }

    /// Jobs not yet written back as done (completed jobs are deleted, as `afx` does by default).
    func unfinishedCount() async throws -> Int {
        try await client.query("SELECT count(*)::int FROM jobs").collect().first!.decode(Int.self)
    }

    /// Inserts `jobs` in batches, then times the pool draining them (until every completion is
    /// written back).
    func drain(label: String, options: @escaping (Int) -> JobOptions) async throws -> Double {
        try await reset()
        let total = command.jobs
        let queue = JobQueue(client: client, claimClient: claims, logger: logger)
        let progress = Progress(label: label)
        for start in stride(from: 0, to: total, by: 5000) {
            let batch = try (start..<min(total, start + 5000)).map {
                try NewJob(kind: BenchJob.kind, payload: BenchJob.Payload(sent: 0), options: options($0))
            }
            try await queue.enqueue(batch: batch)
            progress.update("inserted \(min(total, start + 5000)) jobs")
        }
        try await client.query("ANALYZE jobs")
        let probe = BenchProbe()
        let clock = ContinuousClock()
        let started = clock.now
        let elapsed = try await withWorkers(probe: probe) { _ -> Duration in
            while probe.done.load(ordering: .relaxed) < total {
                try await Task.sleep(for: .milliseconds(20))
                progress.update("\(probe.done.load(ordering: .relaxed)) / \(total) run")
            }
            while try await unfinishedCount() > 0 {
                try await Task.sleep(for: .milliseconds(5))
            }
            return clock.now - started
        }
        let rate = Double(total) / elapsed.secondsDouble
        progress.finish("\(total) jobs in \(String(format: "%.2f", elapsed.secondsDouble))s = \(Int(rate)) jobs/s")
        return rate
    }

    /// `callers` tasks each enqueue one job at a time; the queue group-commits them.
    func groupCommitEnqueue() async throws -> Double {
        try await reset()
        let total = command.enqueueJobs
        let callers = command.callers
        let progress = Progress(label: "group-committed enqueue")
        let probe = BenchProbe()
        // No workers run here: the probe counts enqueues.
        let enqueued = probe
        let elapsed = try await withWorkers(probe: probe, workers: false) { queue -> Duration in
            let clock = ContinuousClock()
            let started = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<callers {
                    group.addTask {
                        let share = total / callers + (caller < total % callers ? 1 : 0)
                        for _ in 0..<share {
                            try await queue.enqueue(try NewJob(kind: BenchJob.kind, payload: BenchJob.Payload(sent: 0)))
                            enqueued.done.add(1, ordering: .relaxed)
                        }
                    }
                }
                group.addTask {
                    while enqueued.done.load(ordering: .relaxed) < total {
                        try await Task.sleep(for: .milliseconds(50))
                        progress.update("\(enqueued.done.load(ordering: .relaxed)) / \(total) enqueued")
                    }
                }
                try await group.waitForAll()
            }
            return clock.now - started
        }
        let count = try await client.query("SELECT count(*)::int FROM jobs").collect().first!.decode(Int.self)
        guard count == total else { throw BenchError("expected \(total) jobs in the table, found \(count)") }
        let rate = Double(total) / elapsed.secondsDouble
        progress.finish(
            "\(total) jobs from \(callers) callers in \(String(format: "%.2f", elapsed.secondsDouble))s = \(Int(rate)) jobs/s"
        )
        return rate
    }

    /// Enqueues at a steady rate with workers running; returns (p50, p99) enqueue-to-start latency
    /// in milliseconds and the achieved rate.
    func stream() async throws -> (Double, Double, Double) {
        try await reset()
        let total = command.rate * command.seconds
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(command.rate))
        let progress = Progress(label: "steady stream at \(command.rate)/s")
        let probe = BenchProbe()
        let clock = ContinuousClock()
        let elapsed = try await withWorkers(probe: probe) { queue -> Duration in
            // Let the pool reach its idle state first.
            try await Task.sleep(for: .milliseconds(300))
            let started = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<total {
                    try await clock.sleep(until: started + interval * index, tolerance: .microseconds(100))
                    group.addTask {
                        let job = try NewJob(
                            kind: BenchJob.kind, payload: BenchJob.Payload(sent: Date().timeIntervalSince1970))
                        try await queue.enqueue(job)
                    }
                    if index % command.rate == 0 {
                        progress.update("\(index) / \(total) sent, \(probe.done.load(ordering: .relaxed)) run")
                    }
                }
                try await group.waitForAll()
            }
            while probe.done.load(ordering: .relaxed) < total {
                try await Task.sleep(for: .milliseconds(10))
            }
            return clock.now - started
        }
        let p50 = probe.latencies.percentile(50)
        let p99 = probe.latencies.percentile(99)
        let achieved = Double(total) / elapsed.secondsDouble
        progress.finish(
            "\(total) jobs: start latency p50 \(String(format: "%.2f", p50)) ms, p99 \(String(format: "%.2f", p99)) ms")
        return (p50, p99, achieved)
    }
}
