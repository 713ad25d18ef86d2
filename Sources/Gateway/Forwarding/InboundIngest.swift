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
    static func store(
        _ updates: [InboundUpdate], client: PostgresClient, queue: JobQueue, timeout: Duration, logger: Logger
    ) async throws -> [Bool] {
        let statement = StoreUpdates(updates: updates, notify: queue.shouldNotifyOtherProcesses())
        let inserted = try await withDeadline(timeout) {
            var positions = Set<Int>()
            for try await position in try await client.execute(statement, logger: logger) {
                positions.insert(position)
            }
            return positions
        }
        queue.jobsEnqueued(lanes: Set(updates.map(\.routeOptions.lane)))
        return updates.indices.map { inserted.contains($0) }
    }
}

/// The batch insert of `InboundIngest.store`; returns the 0-based input positions that were new.
struct StoreUpdates: PostgresPreparedStatement {
    typealias Row = Int

    static let sql = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::int4[],
                $8::text[], $10::text[]) WITH ORDINALITY AS t(source, account_id, external_id, payload, group_key, lane,
                max_attempts, ordering_key, plan, n)
        ), events AS (
            INSERT INTO inbound_events (source, account_id, external_id, payload, group_key)
            SELECT source, account_id, external_id, payload::jsonb, NULLIF(group_key, '') FROM input ORDER BY n
            ON CONFLICT (source, account_id, external_id) DO NOTHING
            RETURNING id, source, account_id, external_id, extract(epoch FROM received_at)::float8 AS received_at
        ), fresh AS (
            SELECT DISTINCT ON (e.id) e.id, e.received_at, i.*
            FROM events e JOIN input i USING (source, account_id, external_id)
            ORDER BY e.id, i.n
        ), routed AS (
            -- Runs to completion though nothing reads it, like every data-modifying WITH. The payload
            -- carries the event (RouteJob.Payload), so routing does not read it back.
            INSERT INTO jobs (kind, lane, payload, max_attempts, ordering_key)
            SELECT 'forward.route', lane,
                jsonb_build_object('eventID', id, 'event', jsonb_build_object(
                    'source', source, 'accountID', account_id, 'update', payload, 'receivedAt', received_at,
                    'groupKey', NULLIF(group_key, ''), 'plan', plan)),
                max_attempts, NULLIF(ordering_key, '')
            FROM fresh ORDER BY n
        )
        SELECT (n - 1)::int4 FROM fresh
        WHERE NOT $9 OR (SELECT count(*) FROM (SELECT pg_notify('afx_jobs', '')) s) > 0
        """

    let updates: [InboundUpdate]
    let notify: Bool

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 10)
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
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int {
        Int(try row.decode(Int32.self))
    }

}
