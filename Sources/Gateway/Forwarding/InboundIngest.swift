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
/// unique key and is skipped) and enqueues one route job for each new one.
final class InboundIngest: Service, Sendable {
    let client: PostgresClient
    let queue: JobQueue
    let logger: Logger
    let timeout: Duration
    private let committer: GroupCommit<InboundUpdate, Bool>

    init(client: PostgresClient, queue: JobQueue, timeout: Duration, logger: Logger) {
        self.client = client
        self.queue = queue
        self.timeout = timeout
        self.logger = logger
        committer = GroupCommit(maxBatch: 256) { updates in
            try await Self.store(updates, client: client, queue: queue, timeout: timeout, logger: logger)
        }
    }

    /// True when the update is new, false for a duplicate; returns once it is committed.
    func ingest(_ update: InboundUpdate) async throws -> Bool {
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
    /// those already stored, and a route job for each new one, in input order so one chat's route
    /// jobs keep their order. The jobs rows are written here rather than through
    /// `JobQueue.enqueue` to save the transaction's three extra round trips on the hottest path;
    /// `StoreUpdates` follows the queue's insert (defaults for the columns it leaves out).
    ///
    /// When this process runs workers with free slots, route jobs that head their chat's ordering
    /// key are inserted already running and start here at once (`JobQueue.reserveLocalStarts`),
    /// without waiting for a claim: at 1,000 msg/s in `bench e2e`, five alternating pairs, p50
    /// 12.1–13.0 ms against 13.8–15.4 ms. A chat's update that finds an earlier one of its chat
    /// queued or running waits for it in the queue as before. (Two statements in flight at once,
    /// from two processes, could each start one of the same chat: which of two updates that
    /// arrive together goes first was never decided by more than which commits first.)
    static func store(
        _ updates: [InboundUpdate], client: PostgresClient, queue: JobQueue, timeout: Duration, logger: Logger
    ) async throws -> [Bool] {
        let starts = queue.reserveLocalStarts(upTo: updates.count)
        let statement = StoreUpdates(updates: updates, notify: queue.shouldNotifyOtherProcesses(), starts: starts)
        let (inserted, started): (Set<Int>, [ClaimedJob])
        do {
            (inserted, started) = try await withDeadline(timeout) {
                var inserted = Set<Int>()
                var started: [ClaimedJob] = []
                for try await row in try await client.execute(statement, logger: logger) {
                    switch row {
                    case .inserted(let position): inserted.insert(position)
                    case .started(let job): started.append(job)
                    }
                }
                return (inserted, started)
            }
        } catch {
            starts?.release()
            throw error
        }
        starts?.start(started)
        if started.count < inserted.count {
            queue.jobsEnqueued(lanes: Set(updates.map(\.routeOptions.lane)))
        }
        return updates.indices.map { inserted.contains($0) }
    }
}

/// The batch insert of `InboundIngest.store`: a row for each 0-based input position that was new,
/// and one for each route job inserted running under `starts`.
struct StoreUpdates: PostgresPreparedStatement {
    enum Row {
        case inserted(Int)
        case started(ClaimedJob)
    }

    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::int4[],
                $8::text[], $10::text[], $11::bool[]) WITH ORDINALITY AS t(source, account_id, external_id, payload,
                group_key, lane, max_attempts, ordering_key, plan, candidate, n)
        ), events AS (
            INSERT INTO inbound_events (source, account_id, external_id, payload, group_key)
            SELECT source, account_id, external_id, payload::jsonb, NULLIF(group_key, '') FROM input ORDER BY n
            ON CONFLICT (source, account_id, external_id) DO NOTHING
            RETURNING id, source, account_id, external_id, extract(epoch FROM received_at)::float8 AS received_at
        ), fresh AS (
            SELECT DISTINCT ON (e.id) e.id, e.received_at, i.*
            FROM events e JOIN input i USING (source, account_id, external_id)
            ORDER BY e.id, i.n
        ), picked AS (
            -- A candidate (first of its ordering key in this batch, within the reservation) starts
            -- here if no job of its key waits or runs, as a claim would judge it.
            SELECT f.*, CASE WHEN f.candidate THEN f.ordering_key = '' OR NOT EXISTS (
                    SELECT 1 FROM jobs q WHERE q.ordering_key = f.ordering_key AND q.state IN ('available', 'running'))
                ELSE false END AS start
            FROM fresh f
        ), routed AS (
            -- The payload carries the event (RouteJob.Payload), so routing does not read it back.
            INSERT INTO jobs (kind, lane, payload, max_attempts, ordering_key, state, attempt, lease_token,
                lease_expires_at, attempted_at)
            SELECT 'forward.route', lane,
                jsonb_build_object('eventID', id, 'event', jsonb_build_object(
                    'source', source, 'accountID', account_id, 'update', payload, 'receivedAt', received_at,
                    'groupKey', NULLIF(group_key, ''), 'plan', plan)),
                max_attempts, NULLIF(ordering_key, ''),
                CASE WHEN start THEN 'running' ELSE 'available' END::job_state, CASE WHEN start THEN 1 ELSE 0 END,
                CASE WHEN start THEN $12::int8 END,
                CASE WHEN start THEN now() + $13::float8 * interval '1 millisecond' END,
                CASE WHEN start THEN now() END
            FROM picked ORDER BY n
            RETURNING id, lane, CASE WHEN state = 'running' THEN payload::text ELSE '' END AS payload, attempt,
                max_attempts, created_at, coalesce(ordering_key, '') AS ordering_key, state = 'running' AS started
        )
        SELECT false, (n - 1)::int8, 0::int2, '', 0, 0, now(), '' FROM fresh
        WHERE NOT $9 OR (SELECT count(*) FROM (SELECT pg_notify('afx_jobs', '')) s) > 0
        UNION ALL
        SELECT true, id, lane, payload, attempt, max_attempts, created_at, ordering_key FROM routed WHERE started
        """

    let updates: [InboundUpdate]
    let notify: Bool
    let starts: LocalStarts?

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 13)
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
        bindings.append(candidates)
        bindings.append(starts?.token ?? 0)
        bindings.append(Double(starts?.leaseMilliseconds ?? 0))
        return bindings
    }

    /// Which updates may start under `starts`: the first of each ordering key in the batch, up to
    /// the reservation's count (the statement then checks the key's jobs in the table).
    var candidates: [Bool] {
        var budget = starts?.count ?? 0
        var seen = Set<String>()
        return updates.map { update in
            let key = update.routeOptions.orderingKey ?? ""
            let first = key.isEmpty || seen.insert(key).inserted
            guard budget > 0, first else { return false }
            budget -= 1
            return true
        }
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (started, id, lane, payload, attempt, maxAttempts, createdAt, orderingKey) = try row.decode(
            (Bool, Int64, Int16, String, Int32, Int32, Date, String).self)
        guard started else { return .inserted(Int(id)) }
        guard let starts else { throw PostgresDecodingError.Code.failure }
        return .started(
            ClaimedJob(
                id: id, kind: RouteJob.kind, lane: Lane(rawValue: lane) ?? .medium, payload: payload,
                attempt: Int(attempt), maxAttempts: Int(maxAttempts), createdAt: createdAt,
                orderingKey: orderingKey.isEmpty ? nil : orderingKey, leaseToken: starts.token))
    }
}
