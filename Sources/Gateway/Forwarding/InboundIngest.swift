import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Store
import TelegramBotAPI

/// One update a platform pushed at us, verified and about to be made durable.
struct InboundUpdate: Sendable {
    let source: String
    let accountID: Int64
    /// The platform's own id for dedupe (Telegram update_id).
    let externalID: String
    let payload: String
    /// Album items share one (chat and media group).
    let groupKey: String?
    /// The route job's options; its payload names the event, known once the event is stored.
    let routeOptions: JobOptions
    /// The owner's plan when the update arrived (the route job's lanes follow it).
    let plan: String
    /// Set when the update was routed before it was stored (`InlineRouting`): its deliver jobs,
    /// stored with it instead of a route job. Their unique keys hold `InboundIngest.eventKey`
    /// where the event id goes.
    var deliveries: [NewJob]? = nil
}

extension InboundUpdate {
    /// The update as stored, with its route job; nil for update types we do not forward. Throws
    /// when the bytes are not an Update (not JSON, or no integer update_id).
    static func telegram(_ data: Data, accountID: Int64, plan: String) throws -> InboundUpdate? {
        let peek = try TelegramUpdatePeek(data)
        guard let chatID = peek.chatID else { return nil }
        var options = JobOptions(lane: PlanLane.lane(for: plan), orderingKey: "route:telegram:\(chatID)")
        options.maxAttempts = RouteJob.defaultRetryPolicy.maxAttempts
        return InboundUpdate(
            source: "telegram", accountID: accountID, externalID: String(peek.updateID),
            payload: String(decoding: data, as: UTF8.self),
            // One chat's updates are routed in order, so its deliveries are enqueued in order.
            groupKey: peek.mediaGroupID.map { "\(chatID):\($0)" }, routeOptions: options, plan: plan)
    }
}

/// Makes inbound updates durable before they are acknowledged: concurrent webhook requests are
/// group-committed, each batch in one transaction that records the updates (a duplicate hits the
/// unique key and is skipped) and enqueues the work of each new one: its deliver jobs when it was
/// routed in its request (`InlineRouting`), else a route job.
final class InboundIngest: Service, Sendable {
    let client: PostgresClient
    let queue: JobQueue
    let logger: Logger
    let timeout: Duration
    let routing: InlineRouting?
    private let committer: GroupCommit<InboundUpdate, Bool>

    /// In an inline-routed update's deliver jobs' unique keys, where the stored event's id goes.
    static let eventKey = "{event}"

    init(client: PostgresClient, queue: JobQueue, timeout: Duration, routing: InlineRouting? = nil, logger: Logger) {
        self.client = client
        self.queue = queue
        self.timeout = timeout
        self.routing = routing
        self.logger = logger
        committer = GroupCommit(maxBatch: 256) { updates in
            try await Self.store(updates, client: client, queue: queue, timeout: timeout, logger: logger)
        }
    }

    /// True when the update is new, false for a duplicate; returns once it is committed.
    func ingest(_ update: InboundUpdate) async throws -> Bool {
        var update = update
        // Routing here saves the route job's run and its claim-loop statement when this process
        // runs workers: they start the deliveries, at once while they have room. Without them
        // (a web-only process) the request stays lean and the workers route.
        if let routing, update.deliveries == nil, queue.hasLocalWorkers {
            update.deliveries = await routing.deliveries(for: update)
        }
        if committer.isRunning {
            return try await committer.submit(update)
        }
        return try await Self.store([update], client: client, queue: queue, timeout: timeout, logger: logger)[0]
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            // One flusher: requests that arrive during a flush share the next one. With two, at
            // 800 msg/s in `bench e2e` most flushes carried a single update (1.4 on average against
            // 2.6 with one): 2,000 more statements and commits in 8 s, for no gain in `bench ingest`.
            await committer.run(flushers: 1)
        } onGracefulShutdown: {
            self.committer.stop()
        }
    }

    /// Stores a batch in one statement (so one round trip and one commit): the updates, skipping
    /// those already stored, and for each new one its deliver jobs or a route job, in input order
    /// so one chat's jobs keep their order. The jobs rows are written here rather than through
    /// `JobQueue.enqueue` to save the transaction's three extra round trips on the hottest path;
    /// `StoreUpdates` follows the queue's insert (defaults for the columns it leaves out).
    ///
    /// When this process runs workers with free slots, route jobs that head their chat's ordering
    /// key are inserted already running and start here at once (`JobQueue.reserveLocalStarts`),
    /// without waiting for a claim: at 1,000 msg/s in `bench e2e`, five alternating pairs, p50
    /// 12.1–13.0 ms against 13.8–15.4 ms. A chat's update that finds an earlier one of its chat
    /// queued or running waits for it in the queue as before. (Two statements in flight at once,
    /// from two processes, could each start one of the same chat: which of two updates that
    /// arrive together goes first was never decided by more than which commits first.) Deliver
    /// jobs start here the same way, each where it heads its pair's key.
    ///
    /// An inline-routed update still gets a route job when its chat has one queued or running (or
    /// an earlier update of its chat in the batch gets one): its deliveries must not overtake
    /// those the route job will enqueue.
    static func store(
        _ updates: [InboundUpdate], client: PostgresClient, queue: JobQueue, timeout: Duration, logger: Logger
    ) async throws -> [Bool] {
        let starts = queue.reserveLocalStarts(upTo: updates.count)
        let statement = StoreUpdates(updates: updates, notify: queue.shouldNotifyOtherProcesses(), starts: starts)
        let (inserted, started, waiting): (Set<Int>, [ClaimedJob], Int)
        do {
            (inserted, started, waiting) = try await withDeadline(timeout) {
                var inserted = Set<Int>()
                var started: [ClaimedJob] = []
                var waiting = 0
                for try await row in try await client.execute(statement, logger: logger) {
                    switch row {
                    case .inserted(let position): inserted.insert(position)
                    case .started(let job): started.append(job)
                    case .waiting(let count): waiting = count
                    }
                }
                return (inserted, started, waiting)
            }
        } catch {
            starts?.release()
            throw error
        }
        starts?.start(started)
        if waiting > 0 {
            let lanes = updates.map(\.routeOptions.lane) + updates.flatMap { $0.deliveries ?? [] }.map(\.options.lane)
            queue.jobsEnqueued(lanes: Set(lanes))
        }
        return updates.indices.map { inserted.contains($0) }
    }
}

/// The batch insert of `InboundIngest.store`: a row for each 0-based input position that was new,
/// one for each job inserted running under `starts`, and one with the number of jobs left waiting.
struct StoreUpdates: PostgresPreparedStatement {
    enum Row {
        case inserted(Int)
        case started(ClaimedJob)
        case waiting(Int)
    }

    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::int4[],
                $8::text[], $10::text[], $11::bool[], $14::bool[]) WITH ORDINALITY AS t(source, account_id,
                external_id, payload, group_key, lane, max_attempts, ordering_key, plan, candidate, inline, n)
        ), events AS (
            INSERT INTO inbound_events (source, account_id, external_id, payload, group_key)
            SELECT source, account_id, external_id, payload::json, NULLIF(group_key, '') FROM input ORDER BY n
            ON CONFLICT (source, account_id, external_id) DO NOTHING
            RETURNING id, source, account_id, external_id, extract(epoch FROM received_at)::float8 AS received_at
        ), fresh AS (
            SELECT DISTINCT ON (e.id) e.id, e.received_at, i.*
            FROM events e JOIN input i USING (source, account_id, external_id)
            ORDER BY e.id, i.n
        ), decided AS (
            -- Routed in its request, an update keeps its deliveries unless its chat has a route job
            -- waiting or running, or an earlier update of its chat in this batch gets one.
            -- (CASE: updates with route jobs, all of them when no workers run here, check nothing.)
            SELECT f.*, CASE WHEN f.inline THEN NOT EXISTS (
                    SELECT 1 FROM fresh p WHERE p.ordering_key = f.ordering_key AND p.n < f.n AND NOT p.inline
                ) AND NOT EXISTS (
                    SELECT 1 FROM jobs q WHERE q.ordering_key = f.ordering_key AND q.state IN ('available', 'running')
                ) ELSE false END AS routed
            FROM fresh f
        ), picked AS MATERIALIZED (
            -- A candidate (first of its ordering key in this batch, within the reservation) starts
            -- here if no job of its key waits or runs, as a claim would judge it. (MATERIALIZED
            -- here and in deliveries: inlined, `start` and its lookup were planned and run once
            -- for each of the five columns that read it.)
            SELECT d.*, \(startsHere) AS start FROM decided d WHERE NOT d.routed
        ), route_jobs AS (
            -- A route job started here carries the event (RouteJob.Payload), so routing does not
            -- read it back; one left for a claim names it only (a copy would cost every webhook
            -- of a web-only process, which routes nothing, and the worker reads it in one lookup).
            INSERT INTO jobs (kind, lane, payload, max_attempts, ordering_key, state, attempt, lease_token,
                lease_expires_at, attempted_at)
            SELECT 'forward.route', lane,
                CASE WHEN start THEN jsonb_build_object('eventID', id, 'event', jsonb_build_object(
                    'source', source, 'accountID', account_id, 'update', payload, 'receivedAt', received_at,
                    'groupKey', NULLIF(group_key, ''), 'plan', plan))
                ELSE jsonb_build_object('eventID', id) END,
                max_attempts, NULLIF(ordering_key, ''), \(runningIfStarted)
            FROM picked ORDER BY n
            \(returningJob)
        ), deliveries AS MATERIALIZED (
            SELECT d.*, e.id AS event_id, \(startsHere) AS start
            FROM unnest($15::int8[], $16::int2[], $17::text[], $18::int8[], $19::int4[], $20::text[], $21::text[],
                $22::bool[]) WITH ORDINALITY AS d(position, lane, payload, delay, max_attempts, unique_key,
                ordering_key, candidate, m)
            JOIN decided e ON e.n = d.position AND e.routed
        ), deliver_jobs AS (
            INSERT INTO jobs (kind, lane, payload, run_at, max_attempts, unique_key, ordering_key, state, attempt,
                lease_token, lease_expires_at, attempted_at)
            SELECT 'forward.deliver', lane, payload::jsonb, now() + delay * interval '1 millisecond', max_attempts,
                NULLIF(replace(unique_key, '\(InboundIngest.eventKey)', event_id::text), ''), NULLIF(ordering_key, ''),
                \(runningIfStarted)
            FROM deliveries ORDER BY m
            ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running') DO NOTHING
            \(returningJob)
        ), jobs_inserted AS (
            SELECT * FROM route_jobs UNION ALL SELECT * FROM deliver_jobs
        )
        SELECT 0::int2, (n - 1)::int8, '', 0::int2, '', 0, 0, now(), '' FROM fresh
        WHERE NOT $9 OR (SELECT count(*) FROM (SELECT pg_notify('afx_jobs', '')) s) > 0
        UNION ALL
        SELECT 1::int2, id, kind, lane, payload, attempt, max_attempts, created_at, ordering_key
        FROM jobs_inserted WHERE started
        UNION ALL
        SELECT 2::int2, count(*), '', 0::int2, '', 0, 0, now(), '' FROM jobs_inserted WHERE NOT started
        """

    /// Whether a candidate row `d` starts here: it heads its ordering key (no job of the key waits
    /// or runs), as a claim would judge it.
    private static let startsHere = """
        CASE WHEN d.candidate THEN d.ordering_key = '' OR NOT EXISTS (
            SELECT 1 FROM jobs q WHERE q.ordering_key = d.ordering_key AND q.state IN ('available', 'running'))
        ELSE false END
        """

    /// The state, attempt, lease and attempt time of a job inserted running where `start`, else
    /// available (the INSERTs' last five columns).
    private static let runningIfStarted = """
        CASE WHEN start THEN 'running' ELSE 'available' END::job_state, CASE WHEN start THEN 1 ELSE 0 END,
            CASE WHEN start THEN $12::int8 END,
            CASE WHEN start THEN now() + $13::float8 * interval '1 millisecond' END,
            CASE WHEN start THEN now() END
        """

    /// What both INSERTs return of a job: the payload only for one started here.
    private static let returningJob = """
        RETURNING id, kind, lane, CASE WHEN state = 'running' THEN payload::text ELSE '' END AS payload, attempt,
                max_attempts, created_at, coalesce(ordering_key, '') AS ordering_key, state = 'running' AS started
        """

    let updates: [InboundUpdate]
    let notify: Bool
    let starts: LocalStarts?

    func makeBindings() throws -> PostgresBindings {
        let (positions, deliveries) = self.deliveries
        let candidates = self.candidates
        var bindings = PostgresBindings(capacity: 22)
        bindings.append(updates.map(\.source))
        bindings.append(updates.map(\.accountID))
        bindings.append(updates.map(\.externalID))
        bindings.append(updates.map(\.payload))
        bindings.append(updates.map { $0.groupKey ?? "" })
        bindings.append(updates.map(\.routeOptions.lane.rawValue))
        bindings.append(
            updates.map { Int32(clamping: $0.routeOptions.maxAttempts ?? RouteJob.defaultRetryPolicy.maxAttempts) })
        bindings.append(updates.map { $0.routeOptions.orderingKey ?? "" })
        bindings.append(notify)
        bindings.append(updates.map(\.plan))
        bindings.append(candidates.updates)
        bindings.append(starts?.token ?? 0)
        bindings.append(Double(starts?.leaseMilliseconds ?? 0))
        bindings.append(updates.map { $0.deliveries != nil })
        bindings.append(positions)
        bindings.append(deliveries.map(\.options.lane.rawValue))
        bindings.append(deliveries.map(\.payload))
        bindings.append(deliveries.map { max(0, $0.options.delay.milliseconds) })
        bindings.append(
            deliveries.map { Int32(clamping: $0.options.maxAttempts ?? DeliverJob.defaultRetryPolicy.maxAttempts) })
        bindings.append(deliveries.map { $0.options.uniqueKey ?? "" })
        bindings.append(deliveries.map { $0.options.orderingKey ?? "" })
        bindings.append(candidates.deliveries)
        return bindings
    }

    /// The inline-routed updates' deliver jobs in input order, each with its update's 1-based
    /// position.
    var deliveries: (positions: [Int64], jobs: [NewJob]) {
        var positions: [Int64] = []
        var jobs: [NewJob] = []
        for (index, update) in updates.enumerated() {
            for job in update.deliveries ?? [] {
                positions.append(Int64(index + 1))
                jobs.append(job)
            }
        }
        return (positions, jobs)
    }

    /// Which jobs may start under `starts`: route jobs and undelayed deliver jobs that come first
    /// of their ordering key in the batch, in input order up to the reservation's count (the
    /// statement then checks the key's jobs in the table). An update whose deliveries the
    /// statement turns into a route job (its chat has one) starts nothing: that route job waits.
    var candidates: (updates: [Bool], deliveries: [Bool]) {
        var budget = starts?.count ?? 0
        var seen = Set<String>()
        func candidate(_ key: String?, due: Bool) -> Bool {
            let first = key.map { seen.insert($0).inserted } ?? true
            guard budget > 0, first, due else { return false }
            budget -= 1
            return true
        }
        var forUpdates: [Bool] = []
        var forDeliveries: [Bool] = []
        for update in updates {
            guard let deliveries = update.deliveries else {
                forUpdates.append(candidate(update.routeOptions.orderingKey, due: true))
                continue
            }
            forUpdates.append(false)
            forDeliveries += deliveries.map { candidate($0.options.orderingKey, due: $0.options.delay <= .zero) }
        }
        return (forUpdates, forDeliveries)
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (tag, id, kind, lane, payload, attempt, maxAttempts, createdAt, orderingKey) = try row.decode(
            (Int16, Int64, String, Int16, String, Int32, Int32, Date, String).self)
        switch tag {
        case 0: return .inserted(Int(id))
        case 2: return .waiting(Int(id))
        default:
            guard let starts else { throw PostgresDecodingError.Code.failure }
            return .started(
                ClaimedJob(
                    id: id, kind: kind, lane: Lane(rawValue: lane) ?? .medium, payload: payload,
                    attempt: Int(attempt), maxAttempts: Int(maxAttempts), createdAt: createdAt,
                    orderingKey: orderingKey.isEmpty ? nil : orderingKey, leaseToken: starts.token))
        }
    }
}
