import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Something a user may want to see the moment it happens.
public struct LiveEvent: Codable, Sendable, Equatable {
    public var userId: Int64
    /// message.forwarded, message.failed, pair.paused, pair.resumed or account.health.
    public var type: String
    public var at: Date
    public var pairId: Int64?
    public var accountId: Int64?
    public var platform: String?
    public var sourceMessageId: Int64?
    public var latencyMs: Int?
    public var status: String?
    public var reason: String?

    public init(
        userId: Int64, type: String, pairId: Int64? = nil, accountId: Int64? = nil, platform: String? = nil,
        sourceMessageId: Int64? = nil, latencyMs: Int? = nil, status: String? = nil, reason: String? = nil
    ) {
        self.userId = userId
        self.type = type
        self.at = Date()
        self.pairId = pairId
        self.accountId = accountId
        self.platform = platform
        self.sourceMessageId = sourceMessageId
        self.latencyMs = latencyMs
        self.status = status
        self.reason = reason
    }
}

/// The live event feed across instances: events are gathered in memory and sent every
/// `flushInterval` as batched `NOTIFY afx_events` (one per batch, not per event, so a busy
/// delivery path does not serialise on NOTIFY); every instance LISTENs and hands each event to
/// its local subscribers of that user. Only events of users someone is watching are published:
/// instances register their subscribers in `live_feed_subscribers` and read everyone's every
/// `flushInterval * 10` (a feed opened on another instance hears events within about a second).
/// Best effort by design: the durable record is message_logs; a subscriber that falls
/// `bufferSize` events behind is dropped.
public final class LiveEvents: Service, Sendable {
    public static let channel = "afx_events"

    /// One WebSocket's queue of encoded events.
    public final class Subscription: Sendable {
        public let stream: AsyncStream<String>
        let continuation: AsyncStream<String>.Continuation
        let id = UUID()
        let userID: Int64
        /// Set when the queue overflowed: the consumer is too slow and is disconnected.
        public let overflowed = Atomic<Bool>(false)

        init(userID: Int64, bufferSize: Int) {
            self.userID = userID
            (stream, continuation) = AsyncStream.makeStream(
                of: String.self, bufferingPolicy: .bufferingOldest(bufferSize))
        }
    }

    let client: PostgresClient
    let logger: Logger
    let flushInterval: Duration
    let bufferSize: Int
    private let pending = Mutex<[LiveEvent]>([])
    /// Users with a feed open on any instance.
    private let watched = Mutex<Set<Int64>>([])
    let instance = UUID().uuidString
    private let subscribers = Mutex<[Int64: [UUID: Subscription]]>([:])
    /// The bound on each of this service's own statements (a connection that died can leave a
    /// query unanswered for good, and the service must still stop).
    static let statementTimeout = Duration.seconds(5)
    static let maxPending = 20_000

    public init(
        client: PostgresClient, logger: Logger, flushInterval: Duration = .milliseconds(100), bufferSize: Int = 256
    ) {
        self.client = client
        self.logger = logger
        self.flushInterval = flushInterval
        self.bufferSize = bufferSize
    }

    /// Queues an event for every instance (never blocks, never throws; beyond `maxPending` unsent
    /// events, new ones are dropped).
    public func publish(_ event: LiveEvent) {
        guard watched.withLock({ $0.contains(event.userId) }) else { return }
        pending.withLock { if $0.count < Self.maxPending { $0.append(event) } }
    }

    /// Registers a new subscriber's user at once (this instance publishes its events from now on;
    /// others within a refresh).
    public func register(userID: Int64) async {
        watched.withLock { _ = $0.insert(userID) }
        _ = try? await client.query(
            """
            INSERT INTO live_feed_subscribers (user_id, instance, expires_at)
            VALUES (\(userID), \(instance), now() + interval '5 seconds')
            ON CONFLICT (user_id, instance) DO UPDATE SET expires_at = excluded.expires_at
            """, logger: logger)
    }

    public func subscribe(userID: Int64) -> Subscription {
        let subscription = Subscription(userID: userID, bufferSize: bufferSize)
        subscribers.withLock { $0[userID, default: [:]][subscription.id] = subscription }
        return subscription
    }

    public func unsubscribe(_ subscription: Subscription) {
        subscription.continuation.finish()
        subscribers.withLock { all in
            all[subscription.userID]?[subscription.id] = nil
            if all[subscription.userID]?.isEmpty == true { all[subscription.userID] = nil }
        }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.flushLoop() }
                group.addTask {
                    await listenLoop(
                        client: self.client, channel: Self.channel, logger: self.logger,
                        unavailable: "live event feed unavailable; retrying", listening: {},
                        received: { self.dispatch($0) })
                }
                group.addTask { await self.watchLoop() }
                await group.waitForAll()
            }
        }
        _ = try? await withDeadline(Self.statementTimeout) { [client, instance, logger] in
            try await client.query("DELETE FROM live_feed_subscribers WHERE instance = \(instance)", logger: logger)
        }
        // Whoever is connected hears that the feed ended.
        for subscription in subscribers.withLock({ $0.values.flatMap(\.values) }) { subscription.continuation.finish() }
    }

    /// Renews this instance's subscribers and learns everyone's. Rows are never deleted by
    /// their owner, only left to expire: a delete computed from an older view of the local
    /// subscribers could remove a row `register` has just written.
    private func watchLoop() async {
        while !Task.isCancelled {
            let local = Array(subscribers.withLock { Set($0.keys) })
            do {
                let all = try await withDeadline(Self.statementTimeout) { [client, instance, logger] in
                    try await client.query(
                        """
                        WITH renewed AS (
                            INSERT INTO live_feed_subscribers (user_id, instance, expires_at)
                            SELECT u, \(instance), now() + interval '5 seconds' FROM unnest(\(local)::int8[]) u
                            ON CONFLICT (user_id, instance) DO UPDATE SET expires_at = excluded.expires_at
                        )
                        DELETE FROM live_feed_subscribers WHERE expires_at < now()
                        """, logger: logger)
                    return try await client.query(
                        "SELECT DISTINCT user_id FROM live_feed_subscribers WHERE expires_at > now()", logger: logger
                    ).collect().map { try $0.decode(Int64.self) }
                }
                // Read the local subscribers again: one may have registered during the queries.
                watched.withLock { $0 = Set(all).union(subscribers.withLock { $0.keys }) }
            } catch {
                logger.debug("live feed subscribers not refreshed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: flushInterval * 10)
        }
    }

    private func flushLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: flushInterval)
            let batch = pending.withLock { events -> [LiveEvent] in
                defer { events.removeAll(keepingCapacity: true) }
                return events
            }
            guard !batch.isEmpty else { continue }
            do {
                for payload in try Self.payloads(batch) {
                    try await withDeadline(Self.statementTimeout) { [client, logger] in
                        _ = try await client.query("SELECT pg_notify(\(Self.channel), \(payload))", logger: logger)
                    }
                }
            } catch {
                logger.debug("live events not published", metadata: ["error": "\(error)", "events": "\(batch.count)"])
            }
        }
    }

    /// JSON arrays of events, each under NOTIFY's 8000-byte payload limit.
    static func payloads(_ events: [LiveEvent]) throws -> [String] {
        let encoder = APIFormat.encoder
        var payloads: [String] = []
        var current: [String] = []
        var size = 2
        for event in events {
            let text = String(decoding: try encoder.encode(event), as: UTF8.self)
            guard text.utf8.count < 7000 else { continue }
            if size + text.utf8.count + 1 > 7500 {
                payloads.append("[" + current.joined(separator: ",") + "]")
                current = []
                size = 2
            }
            current.append(text)
            size += text.utf8.count + 1
        }
        if !current.isEmpty { payloads.append("[" + current.joined(separator: ",") + "]") }
        return payloads
    }

    /// Hands each event of a batch to the local subscribers of its user, as its JSON text.
    func dispatch(_ payload: String) {
        guard subscriberCount > 0,
            let array = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [[String: Any]]
        else {
            return
        }
        for object in array {
            guard let user = (object["userId"] as? NSNumber)?.int64Value,
                let targets = subscribers.withLock({ $0[user].map { Array($0.values) } }),
                let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for subscription in targets {
                if case .dropped = subscription.continuation.yield(text) {
                    subscription.overflowed.store(true, ordering: .relaxed)
                    subscription.continuation.finish()
                }
            }
        }
    }
}
