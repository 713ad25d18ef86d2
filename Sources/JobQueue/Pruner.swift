import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes finished jobs past their retention on an interval, keeping the hot table small. Safe to
/// run in every instance: the batches skip rows another pruner holds.
public struct JobPruner: Service {
    let queue: JobQueue
    let retention: Duration
    let discardedRetention: Duration
    let interval: Duration
    let logger: Logger

    public init(
        queue: JobQueue, retention: Duration, discardedRetention: Duration, interval: Duration = .seconds(60),
        logger: Logger
    ) {
        self.queue = queue
        self.retention = retention
        self.discardedRetention = discardedRetention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) {
            do {
                let deleted = try await queue.prune(retention: retention, discardedRetention: discardedRetention)
                if deleted > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(deleted)"]) }
            } catch {
                logger.warning("job pruning failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Runs `body` now and then every `interval` until graceful shutdown (or cancellation), which
/// cuts a wait short but lets a running `body` finish: the loop of the periodic clean-ups.
public func repeatUntilShutdown(every interval: Duration, _ body: () async -> Void) async {
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        await body()
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
}

extension PostgresClient {
    /// Runs a batched DELETE until a batch comes back short, so no statement holds many locks;
    /// returns how many rows went. `statement` gets the batch size and must return one row per
    /// deleted row (`RETURNING`).
    public func deleteInBatches(
        of batchSize: Int, logger: Logger, _ statement: (Int64) -> PostgresQuery
    ) async throws -> Int {
        var total = 0
        while true {
            let rows = try await query(statement(Int64(batchSize)), logger: logger).collect()
            total += rows.count
            if rows.count < batchSize { return total }
        }
    }
}
