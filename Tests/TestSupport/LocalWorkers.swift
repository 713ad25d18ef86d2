import JobQueue
import Logging
import ServiceLifecycle

extension JobQueue {
    /// Waits until a worker pool of this process runs for the queue: from then on it hears local
    /// enqueues and can start jobs that callers insert running.
    public func localWorkersRun(within timeout: Duration = .seconds(5)) async throws -> Bool {
        try await eventually(timeout: timeout) { hasLocalWorkers }
    }
}

/// Runs `body` once a pool of `concurrency` workers (one claim loop, no LISTEN, a 200 ms poll)
/// runs `registry`'s handlers for `queue`, then stops the pool and the queue.
public func withLocalWorkers(
    queue: JobQueue, registry: JobRegistry, concurrency: Int = 8, logger: Logger,
    _ body: () async throws -> Void
) async throws {
    var configuration = WorkerPool.Configuration()
    configuration.concurrency = concurrency
    configuration.fetchers = 1
    configuration.listen = false
    configuration.pollInterval = .milliseconds(200)
    let pool = WorkerPool(queue: queue, registry: registry, configuration: configuration, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [queue, pool], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            guard try await queue.localWorkersRun() else {
                throw ShellError(description: "the worker pool did not start within 5 s")
            }
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
