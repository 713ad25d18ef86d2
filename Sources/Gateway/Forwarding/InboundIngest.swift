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
    let routeJob: NewJob
}

extension InboundUpdate {
    /// Just enough of a Telegram update to dedupe, order and group it.
    struct TelegramPeek: Decodable {
        struct Chat: Decodable { let id: Int64 }
        struct Inner: Decodable {
            let chat: Chat
            let mediaGroupId: String?
        }
        let updateId: Int64
        let message: Inner?
        let editedMessage: Inner?
        let channelPost: Inner?
        let editedChannelPost: Inner?

        var forwardable: Inner? { message ?? channelPost ?? editedMessage ?? editedChannelPost }
    }

    /// The update as stored, with its route job; nil for update types we do not forward. Throws
    /// when the bytes are not an Update.
    static func telegram(_ data: Data, accountID: Int64, plan: String) throws -> InboundUpdate? {
        let peek = try JSONDecoder.telegram.decode(TelegramPeek.self, from: data)
        guard let inner = peek.forwardable else { return nil }
        let routeJob = try NewJob(
            kind: RouteJob.kind, payload: RouteJob.Payload(eventID: 0),
            // One chat's updates are routed in order, so its deliveries are enqueued in order.
            options: JobOptions(lane: PlanLane.lane(for: plan), orderingKey: "route:telegram:\(inner.chat.id)"))
        return InboundUpdate(
            source: "telegram", accountID: accountID, externalID: String(peek.updateId),
            payload: String(decoding: data, as: UTF8.self),
            groupKey: inner.mediaGroupId.map { "\(inner.chat.id):\($0)" },
            routeJob: routeJob)
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
            await committer.run(flushers: 2)
        } onGracefulShutdown: {
            self.committer.stop()
        }
    }

    static func store(
        _ updates: [InboundUpdate], client: PostgresClient, queue: JobQueue, timeout: Duration, logger: Logger
    ) async throws -> [Bool] {
        let inserted = try await withDeadline(timeout) {
            try await client.withTransaction(logger: logger) { connection -> Set<Int> in
                let rows = try await connection.query(
                    """
                    INSERT INTO inbound_events (source, account_id, external_id, payload, group_key)
                    SELECT s, a, e, p::jsonb, NULLIF(g, '')
                    FROM unnest(\(updates.map(\.source)), \(updates.map(\.accountID)), \(updates.map(\.externalID)),
                        \(updates.map(\.payload)), \(updates.map { $0.groupKey ?? "" })) WITH ORDINALITY AS t(s, a, e, p, g, n)
                    ORDER BY n
                    ON CONFLICT (source, account_id, external_id) DO NOTHING
                    RETURNING id, source, account_id, external_id
                    """, logger: logger)
                var fresh: [Int: Int64] = [:]
                var index: [String: Int] = [:]
                for (position, update) in updates.enumerated()
                where index["\(update.source)/\(update.accountID)/\(update.externalID)"] == nil {
                    index["\(update.source)/\(update.accountID)/\(update.externalID)"] = position
                }
                for try await (id, source, accountID, externalID) in rows.decode((Int64, String, Int64, String).self) {
                    if let position = index["\(source)/\(accountID)/\(externalID)"] { fresh[position] = id }
                }
                let jobs = try fresh.sorted { $0.key < $1.key }.map { position, eventID in
                    try updates[position].routeJob.replacingPayload(RouteJob.Payload(eventID: eventID))
                }
                try await queue.enqueue(jobs, on: connection)
                return Set(fresh.keys)
            }
        }
        queue.jobsEnqueued()
        return updates.indices.map { inserted.contains($0) }
    }
}

extension NewJob {
    func replacingPayload<Payload: Encodable>(_ payload: Payload) throws -> NewJob {
        try NewJob(kind: kind, payload: payload, options: options)
    }
}
