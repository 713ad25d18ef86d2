import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Hears what the pool does, for metrics.
public protocol JobObserver: Sendable {
    /// `waited` is enqueue (or due time) to start; `ran` is the handler's run time.
    func jobFinished(kind: String, lane: Lane, outcome: JobOutcomeLabel, waited: Duration, ran: Duration)
    /// Write-backs refused because the lease had moved on (reclaimed or cancelled).
    func writeBacksRejected(_ count: Int)
}

public enum JobOutcomeLabel: String, Sendable, CaseIterable {
    case completed, retried, discarded, released
}

/// Runs registered handlers for claimed jobs: `fetchers` claim loops share `concurrency` slots,
/// each claiming in one statement as many jobs as it has free slots, split between lanes by
/// weight. Leases are renewed while jobs run; LISTEN/NOTIFY and local enqueues wake idle loops,
/// and polling every `pollInterval` remains the contract.
public final class WorkerPool: Service, Sendable {
    public struct Configuration: Sendable {
        public var concurrency: Int = 32
        public var fetchers: Int = 2
        public var lease: Duration = .seconds(30)
        /// nil: a third of the lease.
        public var heartbeatInterval: Duration?
        public var pollInterval: Duration = .seconds(1)
        public var laneWeights: [Int] = [6, 3, 1]
        /// On shutdown, how long in-flight jobs may run before they are handed back.
        public var drainTimeout: Duration = .seconds(8)
        /// When busy, wait this long after a job finishes so one claim refills several slots.
        public var refillDelay: Duration = .microseconds(500)
        public var listen: Bool = true

        public init() {}
    }

    let queue: JobQueue
    let registry: JobRegistry
    let configuration: Configuration
    let logger: Logger
    let observer: (any JobObserver)?
    let fetchers: [Fetcher]
    private let nextFetcher = Mutex(0)

    public init(
        queue: JobQueue, registry: JobRegistry, configuration: Configuration = .init(), logger: Logger,
        observer: (any JobObserver)? = nil
    ) {
        precondition(configuration.concurrency >= 1 && configuration.fetchers >= 1)
        self.queue = queue
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        self.observer = observer
        let fetcherCount = min(configuration.fetchers, configuration.concurrency)
        self.fetchers = (0..<fetcherCount).map { index in
            let slots =
                configuration.concurrency / fetcherCount + (index < configuration.concurrency % fetcherCount ? 1 : 0)
            var fetcherLogger = logger
            fetcherLogger[metadataKey: "fetcher"] = "\(index)"
            return Fetcher(
                slots: slots, queue: queue, registry: registry, configuration: configuration, logger: fetcherLogger,
                observer: observer)
        }
    }

    public func run() async throws {
        let fetchers = self.fetchers
        let workToken = queue.localWork.add { lanes in self.wakeOneFetcher(lanes: lanes) }
        let cancelToken = queue.onLocalCancel { id in
            for fetcher in fetchers { fetcher.leaseLost(id) }
        }
        let lease = configuration.lease
        let removeStarter = queue.installLocalStarter { count in
            // The loop with the most free slots takes them all.
            guard let fetcher = fetchers.max(by: { $0.freeSlots < $1.freeSlots }) else { return nil }
            let granted = fetcher.reserve(count)
            guard granted > 0 else { return nil }
            return LocalStarts(
                count: granted, token: Int64.random(in: 1...Int64.max), leaseMilliseconds: lease.milliseconds,
                fetcher: fetcher)
        }
        defer {
            removeStarter()
            queue.localWork.remove(workToken)
            queue.removeLocalCancel(cancelToken)
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.heartbeatLoop() }
                if configuration.listen {
                    group.addTask { await self.listenLoop() }
                }
                await withDiscardingTaskGroup { fetcherGroup in
                    for fetcher in fetchers {
                        fetcherGroup.addTask { await fetcher.run() }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            for fetcher in fetchers { fetcher.stop() }
        }
    }

    /// New work: one claim loop with free slots is enough (they take turns), else any.
    func wakeOneFetcher(lanes: [Bool] = [true, true, true]) {
        let start = nextFetcher.withLock { next -> Int in
            defer { next = (next + 1) % fetchers.count }
            return next
        }
        for offset in 0..<fetchers.count {
            let fetcher = fetchers[(start + offset) % fetchers.count]
            if fetcher.hasFreeSlots || offset == fetchers.count - 1 {
                fetcher.newWork(lanes: lanes)
                return
            }
        }
    }

    /// Jobs running in this pool now.
    public var runningCount: Int { fetchers.reduce(0) { $0 + $1.runningCount } }

    private func heartbeatLoop() async {
        let interval = configuration.heartbeatInterval ?? .milliseconds(max(100, configuration.lease.milliseconds / 3))
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let held = fetchers.flatMap { $0.heldLeases() }
            guard !held.isEmpty else { continue }
            do {
                let renewed = try await queue.renewLeases(held, lease: configuration.lease)
                for (id, _) in held where !renewed.contains(id) {
                    for fetcher in fetchers { fetcher.leaseLost(id) }
                }
            } catch {
                logger.warning("could not renew job leases", metadata: ["error": "\(error)"])
            }
        }
    }

    private func listenLoop() async {
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                try await queue.client.withConnection { connection in
                    try await connection.listen(on: JobQueue.notifyChannel) { notifications in
                        backoff = .milliseconds(200)
                        for try await _ in notifications {
                            self.wakeOneFetcher()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("job notifications unavailable; polling", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
    }
}
