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
            await listenLoop(
                client: client, channel: ChangeNotice.channel, logger: logger,
                unavailable: "change notifications unavailable; caches expire on their own",
                listening: {
                    // Whatever changed while we were not listening is forgotten too.
                    accounts.invalidate()
                    pairs.invalidate()
                },
                received: { payload in
                    switch payload {
                    case ChangeNotice.accounts: accounts.invalidate()
                    case ChangeNotice.pairs: pairs.invalidate()
                    default:
                        accounts.invalidate()
                        pairs.invalidate()
                    }
                })
        }
    }
}
