import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes what the gateway no longer needs every `interval`, in batches so no statement holds
/// many locks, so no table grows without end. Runs where workers run; several instances may run
/// it at once (batches skip or wait out rows another instance is deleting).
///
/// - Stored inbound updates past `platforms.inboundRetention`. A platform's retry of an update is
///   recognised while the update is kept; Telegram keeps an update it could not deliver 24 hours
///   at most. An update a forwarding job that is still waiting may read (a route job's event, an
///   album's items) is kept while that job waits, however old: nothing received later than an
///   hour before the oldest waiting route or deliver job was created is deleted (after an
///   outage of the workers, say).
/// - Message links past `platforms.linkRetention`: an edit or deletion of an original sent longer
///   ago no longer reaches its copies (it is logged as skipped), a reply to it is not threaded.
/// - Delivery and error logs past `analytics.logRetention`. A delivery log row goes only once the
///   analytics rollup has folded it into the hourly counts, so reports keep counting it.
struct Retention: Service {
    struct Periods: Sendable {
        var inbound: Duration
        var links: Duration
        var logs: Duration
    }

    let client: PostgresClient
    let periods: Periods
    var interval: Duration = .seconds(60)
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(every: interval) {
            let prunes: [(table: String, prune: (Int) async throws -> Int)] = [
                ("inbound_events", pruneInbound), ("message_links", pruneLinks), ("message_logs", pruneDeliveryLogs),
                ("error_logs", pruneErrorLogs),
            ]
            // A stop (or a start-up that failed) cancels the rest, which would only fail.
            for (table, prune) in prunes where !Task.isCancelled {
                do {
                    let deleted = try await prune(5000)
                    if deleted > 0 {
                        logger.info(
                            "deleted rows past retention", metadata: ["table": "\(table)", "count": "\(deleted)"])
                    }
                } catch  where !Task.isCancelled {
                    logger.warning(
                        "retention failed; will retry", metadata: ["table": "\(table)", "error": "\(error)"])
                } catch {}
            }
        }
    }

    /// Stored updates past retention that no waiting job may read; returns how many went.
    @discardableResult
    func pruneInbound(batchSize: Int = 5000) async throws -> Int {
        try await client.deleteInBatches(of: batchSize, logger: logger) { limit in
            """
            DELETE FROM inbound_events WHERE id IN (
                SELECT id FROM inbound_events
                WHERE received_at < least(
                    now() - \(periods.inbound.milliseconds)::float8 * interval '1 millisecond',
                    coalesce((
                        SELECT min(created_at) FROM jobs
                        WHERE kind IN (\(RouteJob.kind), \(DeliverJob.kind)) AND state IN ('available', 'running')
                    ), 'infinity') - interval '1 hour')
                ORDER BY received_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """
        }
    }

    /// Message links past retention (by the created_at index).
    @discardableResult
    func pruneLinks(batchSize: Int = 5000) async throws -> Int {
        try await client.deleteInBatches(of: batchSize, logger: logger) { limit in
            """
            DELETE FROM message_links WHERE (pair_id, source_message_id, part) IN (
                SELECT pair_id, source_message_id, part FROM message_links
                WHERE created_at < now() - \(periods.links.milliseconds)::float8 * interval '1 millisecond'
                ORDER BY created_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING 1
            """
        }
    }

    /// Delivery log rows past retention and rolled up. The table has no index on created_at (one
    /// more index for every delivery); rows are appended in id order with their time, so each
    /// batch takes the lowest ids already rolled up and deletes those past retention: the first
    /// batch holding a younger row comes back short and ends the run.
    @discardableResult
    func pruneDeliveryLogs(batchSize: Int = 5000) async throws -> Int {
        try await client.deleteInBatches(of: batchSize, logger: logger) { limit in
            """
            WITH oldest AS (
                SELECT id, created_at FROM message_logs
                WHERE id <= (SELECT last_log_id FROM analytics_rollup_state WHERE id = 1)
                ORDER BY id
                LIMIT \(limit)
            )
            DELETE FROM message_logs USING oldest
            WHERE message_logs.id = oldest.id
              AND oldest.created_at < now() - \(periods.logs.milliseconds)::float8 * interval '1 millisecond'
            RETURNING message_logs.id
            """
        }
    }

    /// Error log rows past retention (by the created_at index). A paused pair keeps its reason on
    /// the pair itself.
    @discardableResult
    func pruneErrorLogs(batchSize: Int = 5000) async throws -> Int {
        try await client.deleteInBatches(of: batchSize, logger: logger) { limit in
            """
            DELETE FROM error_logs WHERE id IN (
                SELECT id FROM error_logs
                WHERE created_at < now() - \(periods.logs.milliseconds)::float8 * interval '1 millisecond'
                ORDER BY created_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """
        }
    }
}
