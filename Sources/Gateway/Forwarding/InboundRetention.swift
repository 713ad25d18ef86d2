import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes stored inbound updates past `platforms.inboundRetention` every `interval`, in batches
/// (oldest first, by the received_at index), so the table does not grow without end. A platform's
/// retry of an update is recognised while the update is kept; Telegram keeps an update it could
/// not deliver 24 hours at most, so a week leaves room to spare. Runs where workers run; the
/// batches skip rows another instance is deleting.
///
/// An update a forwarding job that is still waiting may read (a route job's event, an album's
/// items) is kept while that job waits, however old: nothing received later than an hour before
/// the oldest waiting route or deliver job was created is deleted (after an outage of the
/// workers, say).
struct InboundRetention: Service {
    let client: PostgresClient
    let retention: Duration
    var interval: Duration = .seconds(60)
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(every: interval) {
            do {
                let deleted = try await prune()
                if deleted > 0 {
                    logger.info("deleted inbound updates past retention", metadata: ["count": "\(deleted)"])
                }
            } catch {
                logger.warning("inbound retention failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Deletes what is past retention; returns how many.
    @discardableResult
    func prune(batchSize: Int = 5000) async throws -> Int {
        let seconds = Double(retention.components.seconds)
        return try await client.deleteInBatches(of: batchSize, logger: logger) { limit in
            """
            DELETE FROM inbound_events WHERE id IN (
                SELECT id FROM inbound_events
                WHERE received_at < least(
                    now() - \(seconds)::float8 * interval '1 second',
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
}
