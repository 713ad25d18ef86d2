import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A generic PostgreSQL job queue: enqueue (group-committed, batched, or inside a caller's
/// transaction), and the admin operations. `WorkerPool` runs the jobs.
///
/// Run it as a `Service` so single enqueues are group-committed: concurrent callers' rows go to
/// PostgreSQL in one INSERT per flush, and each caller returns only once its row is committed.
/// Without `run()`, each enqueue is its own INSERT.
public final class JobQueue: Service, Sendable {
    public struct Configuration: Sendable {
        /// Concurrent group-commit flushes (each one INSERT of up to `maxBatch` rows).
        public var flushers: Int = 2
        public var maxBatch: Int = 512
        /// NOTIFY other processes at most this often (NOTIFY serialises committers).
        public var notifyInterval: Duration = .milliseconds(10)
        /// Keep completed jobs (for inspection) until the pruner removes them; off, a completed job
        /// is deleted by its write-back, which costs PostgreSQL a quarter of the UPDATE.
        public var keepCompletedJobs: Bool = false
        /// Longest wait for any one queue statement before it is abandoned (a connection that died
        /// mid-query must not stall a claim loop or every enqueuer behind a flush).
        public var statementTimeout: Duration = .seconds(10)

        public init() {}
    }

    public static let notifyChannel = "afx_jobs"

    /// Session settings for `claimClient`'s connections: the claim statement always runs its
    /// generic plan. Left to choose, PostgreSQL plans it afresh on every call once the jobs table
    /// holds a backlog (its generic plan's estimate, which cannot know the small LIMITs, then looks
    /// dearer than a custom plan), and planning this statement takes longer than running it: about
    /// 2 ms a call at 800 jobs/s, which slows the claims, which grows the backlog. The generic plan
    /// is the one it runs without a backlog anyway. And no JIT: with 200,000 jobs waiting the
    /// generic plan's estimate passes `jit_above_cost`, and compiling it took 374 ms of every claim.
    public static let claimSessionParameters = [("plan_cache_mode", "force_generic_plan"), ("jit", "off")]

    /// A claim pool's configuration for `fetchers` claim loops: `base`'s server and options, with
    /// `claimSessionParameters`, a connection per loop and two for write-backs and lease renewals.
    public static func claimPoolConfiguration(
        _ base: PostgresClient.Configuration, fetchers: Int
    ) -> PostgresClient.Configuration {
        var configuration = base
        configuration.options.additionalStartupParameters += claimSessionParameters
        configuration.options.maximumConnections = fetchers + 2
        return configuration
    }

    let client: PostgresClient
    /// The claim loops' statements (claims, write-backs, lease renewals); `client` unless given.
    let claimClient: PostgresClient
    let configuration: Configuration
    let logger: Logger
    /// Each caller gets its own result: a unique-key race fails one job, not its whole batch.
    let committer: GroupCommit<NewJob, Result<EnqueueResult, any Error>>
    /// Told when this process enqueues, so a local claim loop starts the job at once.
    let localWork: WorkListeners
    let notifyThrottle: NotifyThrottle
    let cancelHandlers = Mutex<[Int: @Sendable (Int64) -> Void]>([:])
    /// The running worker pool's slot reservations for jobs inserted already running.
    let localStarter = Mutex<LocalStarter?>(nil)

    /// - Parameter claimClient: a pool for the claim loops alone, its connections opened with
    ///   `claimSessionParameters` (one claim loop needs one connection; a few more serve
    ///   write-backs and lease renewals). Without it the claims share `client`.
    public init(
        client: PostgresClient, claimClient: PostgresClient? = nil, configuration: Configuration = .init(),
        logger: Logger
    ) {
        self.client = client
        self.claimClient = claimClient ?? client
        self.configuration = configuration
        self.logger = logger
        let localWork = WorkListeners()
        let throttle = NotifyThrottle(interval: configuration.notifyInterval)
        self.localWork = localWork
        self.notifyThrottle = throttle
        // A unique-key race (rare) fails only the racing job: the others are written alone.
        let insert = GroupCommit<NewJob, Result<EnqueueResult, any Error>>.isolatingFailures(
            isolating: { error in
                if case JobQueueError.uniqueKeyRace = error { return true }
                return false
            }
        ) { jobs in
            try await Self.insertBatch(
                jobs, client: client, throttle: throttle, timeout: configuration.statementTimeout, logger: logger)
        }
        self.committer = GroupCommit(maxBatch: configuration.maxBatch) { jobs in
            let results = try await insert(jobs)
            localWork.notifyOne(lanes: Lane.mask(jobs.map(\.options.lane)))
            return results
        }
    }

    // MARK: Enqueue

    /// Enqueues one job. Group-committed while the queue is running.
    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> EnqueueResult {
        if committer.isRunning {
            return try await committer.submit(job).get()
        }
        return try await enqueue(batch: [job])[0]
    }

    /// Enqueues jobs in one INSERT; results are in the order of `jobs`. (A running job enqueues
    /// what it derives with `JobContext.enqueueOnCompletion` instead.)
    @discardableResult
    public func enqueue(batch jobs: [NewJob]) async throws -> [EnqueueResult] {
        guard !jobs.isEmpty else { return [] }
        let results = try await Self.insertBatch(
            jobs, client: client, throttle: notifyThrottle, timeout: configuration.statementTimeout, logger: logger)
        jobsEnqueued(lanes: Set(jobs.map(\.options.lane)))
        return results
    }

    static func insertBatch(
        _ jobs: [NewJob], client: PostgresClient, throttle: NotifyThrottle, timeout: Duration, logger: Logger
    ) async throws -> [EnqueueResult] {
        let notify = throttle.shouldNotify()
        return try await withDeadline(timeout) {
            try await client.withConnection { connection in
                try await Self.insert(jobs, on: connection, notify: notify, logger: logger)
            }
        }
    }

    /// Enqueues inside the caller's open transaction, so the job commits (or rolls back) with the
    /// caller's own writes. Call `jobsEnqueued()` after the commit to wake workers at once.
    @discardableResult
    public func enqueue(_ jobs: [NewJob], on connection: PostgresConnection) async throws -> [EnqueueResult] {
        try await Self.insert(jobs, on: connection, notify: notifyThrottle.shouldNotify(), logger: logger)
    }

    /// Whether a caller inserting jobs with its own SQL should send the `afx_jobs` NOTIFY now
    /// (throttled like the queue's own inserts); call `jobsEnqueued()` after its commit too.
    public func shouldNotifyOtherProcesses() -> Bool {
        notifyThrottle.shouldNotify()
    }

    /// Group-commit INSERTs so far (each carries every enqueue queued when it started).
    public var groupCommitFlushes: Int { committer.batchCount }

    /// Wakes one of this process's claim loops (other processes hear the NOTIFY sent with the
    /// insert). `lanes`: the lanes that received jobs (nil: any), so a loop does not keep
    /// offering slots to lanes that have nothing due.
    public func jobsEnqueued(lanes: Set<Lane>? = nil) {
        localWork.notifyOne(lanes: lanes.map { Lane.mask(Array($0)) } ?? [true, true, true])
    }

    static func insert(
        _ jobs: [NewJob], on connection: PostgresConnection, notify: Bool, logger: Logger
    ) async throws -> [EnqueueResult] {
        var insertedByKey: [String: Int64] = [:]
        var insertedWithoutKey: [Int64] = []
        let rows: AsyncThrowingMapSequence<PostgresRowSequence, InsertJobs.Row> =
            notify
            ? try await connection.execute(InsertJobsAndNotify(jobs: jobs), logger: logger)
            : try await connection.execute(InsertJobs(jobs: jobs), logger: logger)
        for try await (id, uniqueKey) in rows {
            if uniqueKey.isEmpty {
                insertedWithoutKey.append(id)
            } else {
                insertedByKey[uniqueKey] = id
            }
        }
        // Identity values follow the input order, so unkeyed rows map back by sorted id; keyed rows
        // map by key, and a key that inserted nothing belongs to an existing unfinished job.
        insertedWithoutKey.sort()
        var unkeyed = insertedWithoutKey.makeIterator()
        let missingKeys = Set(jobs.compactMap(\.options.uniqueKey)).subtracting(insertedByKey.keys)
        var existing: [String: Int64] = [:]
        if !missingKeys.isEmpty {
            let rows = try await connection.query(
                """
                SELECT id, unique_key FROM jobs
                WHERE unique_key = ANY(\(Array(missingKeys))) AND state IN ('available', 'running')
                """, logger: logger)
            for try await (id, key) in rows.decode((Int64, String).self) { existing[key] = id }
        }
        var claimedKeys = Set<String>()
        return try jobs.map { job in
            guard let key = job.options.uniqueKey else {
                guard let id = unkeyed.next() else { throw JobQueueError.insertMismatch }
                return EnqueueResult(id: id, inserted: true)
            }
            if let id = insertedByKey[key], claimedKeys.insert(key).inserted {
                return EnqueueResult(id: id, inserted: true)
            }
            // A duplicate within this batch, or a job enqueued earlier.
            guard let id = insertedByKey[key] ?? existing[key] else {
                // The earlier job finished between the INSERT and the lookup.
                throw JobQueueError.uniqueKeyRace(key)
            }
            return EnqueueResult(id: id, inserted: false)
        }
    }

    // MARK: Service

    /// Runs the group-commit flushers until graceful shutdown, then flushes what is queued.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await committer.run(flushers: configuration.flushers)
        } onGracefulShutdown: {
            self.committer.stop()
        }
    }
}

/// NOTIFY at most once per interval: every NOTIFY takes a lock that serialises committers.
final class NotifyThrottle: Sendable {
    let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(interval: Duration) {
        self.interval = interval
    }

    func shouldNotify() -> Bool {
        let now = ContinuousClock.now
        return last.withLock { last in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
    }
}

public enum JobQueueError: Error, CustomStringConvertible {
    case insertMismatch
    case uniqueKeyRace(String)
    case notFound(Int64)
    case invalidState(Int64, JobState, String)
    case uniqueKeyTaken(Int64, String)

    public var description: String {
        switch self {
        case .insertMismatch: "the database returned fewer job ids than rows inserted"
        case .uniqueKeyRace(let key): "the job holding unique key \(key) finished while enqueueing; enqueue again"
        case .notFound(let id): "job \(id) does not exist (it may have been pruned)"
        case .invalidState(let id, let state, let action): "job \(id) is \(state.rawValue) and cannot be \(action)"
        case .uniqueKeyTaken(let id, let key):
            "job \(id) cannot be retried: an unfinished job already holds its unique key \(key)"
        }
    }
}

/// `INSERT … SELECT FROM unnest(…)`: one statement for any number of jobs, unique keys resolved by
/// `ON CONFLICT DO NOTHING` against the partial unique index.
struct InsertJobs: JobInsertStatement {
    static let sql = insertJobsSQL(notify: false)
    let jobs: [NewJob]
}

/// The same, with a NOTIFY for other processes' workers in the same statement (and transaction).
struct InsertJobsAndNotify: JobInsertStatement {
    static let sql = insertJobsSQL(notify: true)
    let jobs: [NewJob]
}

protocol JobInsertStatement: PostgresPreparedStatement where Row == (Int64, String) {
    var jobs: [NewJob] { get }
}

/// The job INSERT in its variants. `notify`: an uncorrelated subquery in RETURNING sends the
/// NOTIFY once.
private func insertJobsSQL(notify: Bool) -> String {
    """
    INSERT INTO jobs (kind, lane, payload, run_at, max_attempts, unique_key, ordering_key)
    SELECT k, l, p::jsonb, now() + d * interval '1 millisecond', m, NULLIF(u, ''), NULLIF(o, '')
    FROM unnest($1::text[], $2::int2[], $3::text[], $4::int8[], $5::int4[], $6::text[], $7::text[])
        WITH ORDINALITY AS t(k, l, p, d, m, u, o, n)
    ORDER BY n
    ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running') DO NOTHING
    RETURNING id, coalesce(unique_key, '')\(notify ? ", (SELECT count(*) FROM (SELECT pg_notify('afx_jobs', '')) n)" : "")
    """
}

extension PostgresBindings {
    /// New jobs as seven arrays: kind, lane, payload, delay (ms), attempts, unique key and
    /// ordering key ('' for none); the job INSERTs read them with `unnest`.
    mutating func appendJobColumns(_ jobs: [NewJob]) {
        append(jobs.map(\.kind))
        append(jobs.map(\.options.lane.rawValue))
        append(jobs.map(\.payload))
        append(jobs.map { max(0, $0.options.delay.milliseconds) })
        append(jobs.map { Int32(clamping: $0.options.maxAttempts ?? RetryPolicy.default.maxAttempts) })
        append(jobs.map { $0.options.uniqueKey ?? "" })
        append(jobs.map { $0.options.orderingKey ?? "" })
    }
}

extension JobInsertStatement {
    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.appendJobColumns(jobs)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> (Int64, String) {
        // The NOTIFY variant returns a third column; only the first two matter.
        let columns = row.makeRandomAccess()
        return (try columns[0].decode(Int64.self), try columns[1].decode(String.self))
    }
}

extension Lane {
    /// [high, medium, low] flags for the lanes present.
    static func mask(_ lanes: [Lane]) -> [Bool] {
        var mask = [false, false, false]
        for lane in lanes { mask[Int(lane.rawValue)] = true }
        return mask
    }
}
