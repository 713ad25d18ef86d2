import Logging
import PostgresNIO
import ServiceLifecycle
import Store

/// Hears `afx_changes` (pairs or accounts changed, in any instance) and empties the caches.
/// Without notifications (PgBouncer, a dropped connection) the caches still expire on their own.
struct ChangeListener: Service {
    let client: PostgresClient
    let accounts: AccountDirectory
    let pairs: PairDirectory
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = Duration.milliseconds(200)
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: ChangeNotice.channel) { notifications in
                            // Whatever changed while we were not listening is forgotten too.
                            accounts.invalidate()
                            pairs.invalidate()
                            backoff = .milliseconds(200)
                            for try await notification in notifications {
                                switch notification.payload {
                                case ChangeNotice.accounts: accounts.invalidate()
                                case ChangeNotice.pairs: pairs.invalidate()
                                default:
                                    accounts.invalidate()
                                    pairs.invalidate()
                                }
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.debug(
                        "change notifications unavailable; caches expire on their own", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }
}
