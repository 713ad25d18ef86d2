import Foundation
import Logging
import PostgresNIO

/// A job a worker holds under a lease.
public struct ClaimedJob: Sendable {
    public let id: Int64
    public let kind: String
    public let lane: Lane
    public let payload: String
    public let attempt: Int
    public let maxAttempts: Int
    public let createdAt: Date
    public let orderingKey: String?
    /// The lease this claim holds; every write-back must present it.
    public let leaseToken: Int64

    public init(
        id: Int64, kind: String, lane: Lane, payload: String, attempt: Int, maxAttempts: Int, createdAt: Date,
        orderingKey: String?, leaseToken: Int64
    ) {
        self.id = id
        self.kind = kind
        self.lane = lane
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.createdAt = createdAt
        self.orderingKey = orderingKey
        self.leaseToken = leaseToken
    }
}

/// How a claimed job ended, to be written back under its lease token.
public struct JobOutcome: Sendable {
    public enum Kind: Sendable, Equatable {
        case completed
        /// Back to available at `runAt`; `spendsAttempt` false for "retry at T" and hand-backs.
        case retry(runAt: Date, spendsAttempt: Bool, error: String?)
        case discarded(error: String)
    }

    public let id: Int64
    public let leaseToken: Int64
    public let kind: Kind
    /// Jobs to enqueue in the statement that writes a completion (nothing for other outcomes).
    public let followUps: [NewJob]

    public init(id: Int64, leaseToken: Int64, kind: Kind, followUps: [NewJob] = []) {
        self.id = id
        self.leaseToken = leaseToken
        self.kind = kind
        self.followUps = kind == .completed ? followUps : []
    }
}

extension JobQueue {
    /// What one claim statement did.
    public struct Claim: Sendable {
        public let jobs: [ClaimedJob]
        /// Follow-ups of the completions written back that the statement enqueued already
        /// running under this claim's lease (see `startingFollowUps`).
        public let startedFollowUps: [ClaimedJob]
        /// The outcomes written back with it whose lease still held.
        public let writtenBack: Set<Int64>
    }

    /// Claims up to `limits[lane]` due jobs per lane plus up to `reclaim` jobs whose lease lapsed
    /// (their worker died), in one statement. Jobs with an ordering key are claimable only when no
    /// earlier job with that key is unfinished.
    public func claim(limits: [Int], reclaim: Int, lease: Duration) async throws -> [ClaimedJob] {
        try await claim(limits: limits, reclaim: reclaim, lease: lease, writingBack: []).jobs
    }

    /// The same, writing `outcomes` back first. Completions ride on the claim statement itself
    /// (deleted in a CTE) so a busy loop pays one statement and one commit per cycle.
    ///
    /// - Parameter startingFollowUps: how many of the completions' follow-ups that are due now may
    ///   be inserted already running under this claim (in `Claim.startedFollowUps`), saving them
    ///   a claim: each only if it is the head of its ordering key, judged like a claim judges it.
    public func claim(
        limits: [Int], reclaim: Int, lease: Duration, writingBack outcomes: [JobOutcome], startingFollowUps: Int = 0
    ) async throws -> Claim {
        precondition(limits.count == Lane.allCases.count)
        var ridingAlong: [JobOutcome] = []
        var separately = outcomes
        if !configuration.keepCompletedJobs {
            ridingAlong = outcomes.filter { $0.kind == .completed }
            separately = outcomes.filter { $0.kind != .completed }
        }
        let separateResult = try await writeBack(separately)
        let token = Int64.random(in: 1...Int64.max)
        let statement = ClaimJobs(
            high: limits[0], medium: limits[1], low: limits[2], reclaim: reclaim, token: token,
            leaseMilliseconds: lease.milliseconds, completed: ridingAlong,
            notify: notifiesFollowUps(of: ridingAlong), startBudget: startingFollowUps)
        return try await withDeadline(configuration.statementTimeout) {
            var jobs: [ClaimedJob] = []
            var started: [ClaimedJob] = []
            var writtenBack = separateResult
            for try await row in try await self.claimClient.execute(statement, logger: self.logger) {
                guard row.0 != ClaimJobs.writtenBack else {
                    writtenBack.insert(row.1)
                    continue
                }
                let job = ClaimedJob(
                    id: row.1, kind: row.2, lane: Lane(rawValue: row.3) ?? .medium, payload: row.4,
                    attempt: Int(row.5), maxAttempts: Int(row.6), createdAt: row.7,
                    orderingKey: row.8.isEmpty ? nil : row.8, leaseToken: token)
                if row.0 == ClaimJobs.startedFollowUp { started.append(job) } else { jobs.append(job) }
            }
            return Claim(jobs: jobs, startedFollowUps: started, writtenBack: writtenBack)
        }
    }

    /// Writes outcomes back; returns the ids whose lease still matched (the others were
    /// reclaimed, cancelled or already written and are left untouched).
    @discardableResult
    public func writeBack(_ outcomes: [JobOutcome]) async throws -> Set<Int64> {
        guard !outcomes.isEmpty else { return [] }
        return try await withDeadline(configuration.statementTimeout) {
            try await self.writeBackNow(outcomes)
        }
    }

    private func writeBackNow(_ outcomes: [JobOutcome]) async throws -> Set<Int64> {
        var accepted = Set<Int64>()
        var updates = outcomes
        if !configuration.keepCompletedJobs {
            let completed = outcomes.filter { $0.kind == .completed }
            updates = outcomes.filter { $0.kind != .completed }
            if !completed.isEmpty {
                let statement = DeleteCompletedJobs(completed: completed, notify: notifiesFollowUps(of: completed))
                for try await id in try await claimClient.execute(statement, logger: logger) {
                    accepted.insert(id)
                }
            }
        }
        if !updates.isEmpty {
            let statement = WriteBackJobs(outcomes: updates, notify: notifiesFollowUps(of: updates))
            for try await id in try await claimClient.execute(statement, logger: logger) {
                accepted.insert(id)
            }
        }
        return accepted
    }

    /// Extends the leases of running jobs; returns the ids still held (a missing id lost its lease).
    public func renewLeases(_ jobs: [(id: Int64, token: Int64)], lease: Duration) async throws -> Set<Int64> {
        guard !jobs.isEmpty else { return [] }
        let statement = RenewLeases(
            ids: jobs.map(\.id), tokens: jobs.map(\.token), leaseMilliseconds: lease.milliseconds)
        return try await withDeadline(configuration.statementTimeout) {
            var held = Set<Int64>()
            for try await id in try await self.claimClient.execute(statement, logger: self.logger) {
                held.insert(id)
            }
            return held
        }
    }
}

struct ClaimJobs: PostgresPreparedStatement {
    // One CTE per lane keeps each scan on the claim index in (run_at, id) order; LIMIT 0 lanes cost
    // nothing. The NOT EXISTS makes only the head of each ordering key claimable; a predecessor
    // completing in this very statement does not count (the CTEs share one snapshot, so its
    // DELETE is not visible to them), so a key's next job starts one claim sooner. `done` deletes
    // the completions riding along (a reclaim never picks one of them); the final SELECT returns
    // a row per claimed job, follow-up started and completion accepted, its kind in the first
    // column (`claimedJob`, `startedFollowUp`, `writtenBack`).
    //
    // Write-backs match a job by id and lease token only: a token is set exactly while the job
    // runs (the table's CHECK), and a `state = 'running'` condition here would let the planner
    // read every entry of the running-jobs index instead of the primary key. That index holds an
    // entry for each job that ran since the last vacuum; a bitmap scan of it was 95 % of this
    // statement's time under load (auto_explain, `afx bench e2e`).
    //
    // The claim connections run this statement's generic plan (`JobQueue.claimSessionParameters`),
    // which cannot know the LIMITs are small: joined to `picked`, the UPDATE would be planned as a
    // hash join over a sequential scan of the whole table (37.6 ms a claim with 100,000 jobs
    // waiting, EXPLAIN ANALYZE); by `id = ANY(ARRAY(…))` it is an index scan of the primary key.
    //
    // `relaxed` turns off synchronous commit for this statement's transaction only: losing it in
    // a crash loses a claim (the job is available again) or a completion (the job runs again,
    // which at-least-once delivery allows), never an enqueued job, and the claim no longer waits
    // for a WAL flush on the path from enqueue to start.
    static let sql = """
        WITH relaxed AS (
            SELECT set_config('synchronous_commit', 'off', true) AS applied
        ), done AS (
            DELETE FROM jobs USING unnest($7::int8[], $8::int8[]) AS d(id, token)
            WHERE jobs.id = d.id AND jobs.lease_token = d.token
            RETURNING jobs.id
        ), \(spawnCTE(parents: "SELECT id FROM done", firstParameter: 9, starting: (budget: "$18", token: "$5", leaseMilliseconds: "$6", completedIDs: "$7", completedTokens: "$8")))
        ), reclaim AS (
            SELECT id FROM jobs
            WHERE state = 'running' AND lease_expires_at < now() AND id <> ALL($7::int8[])
            ORDER BY lease_expires_at
            LIMIT $4
            FOR UPDATE SKIP LOCKED
        ), \(claimableLane("high", lane: 0, limit: "$1"))
        ), \(claimableLane("medium", lane: 1, limit: "$2"))
        ), \(claimableLane("low", lane: 2, limit: "$3"))
        ), picked AS (
            SELECT id FROM reclaim UNION ALL SELECT id FROM high UNION ALL SELECT id FROM medium
            UNION ALL SELECT id FROM low
        ), claimed AS (
            UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, lease_token = $5,
                lease_expires_at = now() + $6::float8 * interval '1 millisecond', attempted_at = now()
            WHERE jobs.id = ANY(ARRAY(SELECT id FROM picked))
            RETURNING jobs.id, jobs.kind, jobs.lane, jobs.payload::text, jobs.attempt, jobs.max_attempts,
                jobs.created_at, coalesce(jobs.ordering_key, '') AS ordering_key
        )
        SELECT 1::int2, id, kind, lane, payload, attempt, max_attempts, created_at, ordering_key,
            (SELECT applied FROM relaxed), (SELECT count(*) FROM notified)
        FROM claimed
        UNION ALL
        SELECT 2::int2, id, kind, lane, payload, attempt, max_attempts, created_at, ordering_key,
            (SELECT applied FROM relaxed), (SELECT count(*) FROM notified)
        FROM spawned WHERE started
        UNION ALL
        SELECT 0::int2, id, '', 0::int2, '', 0, 0, now(), '', (SELECT applied FROM relaxed), (SELECT count(*) FROM notified)
        FROM done
        """
    /// What a row is: a completion written back, a claimed job, a follow-up enqueued running.
    static let writtenBack: Int16 = 0
    static let claimedJob: Int16 = 1
    static let startedFollowUp: Int16 = 2
    typealias Row = (Int16, Int64, String, Int16, String, Int32, Int32, Date, String)

    let high: Int
    let medium: Int
    let low: Int
    let reclaim: Int
    let token: Int64
    let leaseMilliseconds: Int64
    let completed: [JobOutcome]
    let notify: Bool
    let startBudget: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 18)
        bindings.append(Int64(high))
        bindings.append(Int64(medium))
        bindings.append(Int64(low))
        bindings.append(Int64(reclaim))
        bindings.append(token)
        bindings.append(Double(leaseMilliseconds))
        bindings.append(completed.map(\.id))
        bindings.append(completed.map(\.leaseToken))
        bindings.appendFollowUps(of: completed, notify: notify)
        bindings.append(Int64(startBudget))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        // Cell by cell: decoding a nine-element tuple generically costs more than the statement.
        var cells = row.makeIterator()
        func next<T: PostgresDecodable>(_ type: T.Type) throws -> T {
            guard let cell = cells.next() else { throw PostgresDecodingError.Code.missingData }
            return try cell.decode(T.self)
        }
        return (
            try next(Int16.self), try next(Int64.self), try next(String.self), try next(Int16.self),
            try next(String.self), try next(Int32.self), try next(Int32.self), try next(Date.self),
            try next(String.self)
        )
    }
}

struct WriteBackJobs: PostgresPreparedStatement {
    // Guarded by the lease token (set only while running): a worker whose lease was reclaimed or
    // whose job was cancelled writes nothing. The last ten errors are kept on the row.
    static let sql = """
        WITH updated AS (
        UPDATE jobs SET
            state = d.state::job_state,
            run_at = CASE WHEN d.state = 'available' THEN d.run_at ELSE jobs.run_at END,
            attempt = jobs.attempt - d.refund,
            finished_at = CASE WHEN d.state = 'available' THEN NULL ELSE now() END,
            lease_token = NULL,
            lease_expires_at = NULL,
            last_error = CASE WHEN d.error = '' THEN jobs.last_error ELSE d.error END,
            errors = CASE WHEN d.error = '' THEN jobs.errors ELSE
                (CASE WHEN jsonb_array_length(jobs.errors) >= 10 THEN jobs.errors - 0 ELSE jobs.errors END)
                || jsonb_build_array(jsonb_build_object('attempt', jobs.attempt, 'at', now(), 'error', d.error)) END
        FROM unnest($1::int8[], $2::int8[], $3::text[], $4::timestamptz[], $5::int4[], $6::text[])
            AS d(id, token, state, run_at, refund, error)
        WHERE jobs.id = d.id AND jobs.lease_token = d.token
        RETURNING jobs.id, jobs.state
        ), \(spawnCTE(parents: "SELECT id FROM updated WHERE state = 'completed'", firstParameter: 7))
        )
        SELECT id, (SELECT count(*) FROM notified) FROM updated
        """
    typealias Row = Int64

    let outcomes: [JobOutcome]
    let notify: Bool

    func makeBindings() throws -> PostgresBindings {
        var ids: [Int64] = [], tokens: [Int64] = [], states: [String] = [], runAts: [Date] = []
        var refunds: [Int32] = [], errors: [String] = []
        let now = Date()
        for outcome in outcomes {
            ids.append(outcome.id)
            tokens.append(outcome.leaseToken)
            switch outcome.kind {
            case .completed:
                states.append("completed"); runAts.append(now); refunds.append(0); errors.append("")
            case .retry(let runAt, let spendsAttempt, let error):
                states.append("available"); runAts.append(runAt); refunds.append(spendsAttempt ? 0 : 1)
                errors.append(error ?? "")
            case .discarded(let error):
                states.append("discarded"); runAts.append(now); refunds.append(0); errors.append(error)
            }
        }
        var bindings = PostgresBindings(capacity: 15)
        bindings.append(ids)
        bindings.append(tokens)
        bindings.append(states)
        bindings.append(runAts)
        bindings.append(refunds)
        bindings.append(errors)
        bindings.appendFollowUps(of: outcomes, notify: notify)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.makeRandomAccess()[0].decode(Int64.self) }
}

/// Completion without keeping the row: a DELETE writes no new tuple and no index entries.
struct DeleteCompletedJobs: PostgresPreparedStatement {
    static let sql = """
        WITH done AS (
            DELETE FROM jobs USING unnest($1::int8[], $2::int8[]) AS d(id, token)
            WHERE jobs.id = d.id AND jobs.lease_token = d.token
            RETURNING jobs.id
        ), \(spawnCTE(parents: "SELECT id FROM done", firstParameter: 3))
        )
        SELECT id, (SELECT count(*) FROM notified) FROM done
        """
    typealias Row = Int64

    let completed: [JobOutcome]
    let notify: Bool

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 11)
        bindings.append(completed.map(\.id))
        bindings.append(completed.map(\.leaseToken))
        bindings.appendFollowUps(of: completed, notify: notify)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.makeRandomAccess()[0].decode(Int64.self) }
}

struct RenewLeases: PostgresPreparedStatement {
    static let sql = """
        UPDATE jobs SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
        FROM unnest($1::int8[], $2::int8[]) AS d(id, token)
        WHERE jobs.id = d.id AND jobs.lease_token = d.token
        RETURNING jobs.id
        """
    typealias Row = Int64

    let ids: [Int64]
    let tokens: [Int64]
    let leaseMilliseconds: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(ids)
        bindings.append(tokens)
        bindings.append(Double(leaseMilliseconds))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }
}

/// One lane's CTE of `ClaimJobs`: its due, available jobs in (run_at, id) order on the claim
/// index, only the head of each ordering key, where a predecessor completing in the same
/// statement (in `$7`/`$8`) does not count.
private func claimableLane(_ name: String, lane: Int, limit: String) -> String {
    """
    \(name) AS (
                SELECT id FROM jobs j
                WHERE state = 'available' AND lane = \(lane) AND run_at <= now()
                  AND (ordering_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM jobs p WHERE p.ordering_key = j.ordering_key AND p.id < j.id
                        AND p.state IN ('available', 'running') AND NOT (p.state = 'running'
                            AND (p.id, p.lease_token) IN (SELECT id, token FROM unnest($7::int8[], $8::int8[]) AS c(id, token)))))
                ORDER BY run_at, id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
    """
}
