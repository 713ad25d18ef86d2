import Logging
import ServiceLifecycle
import Store

/// Folds new message_logs rows into the hourly analytics tables every `interval`. Runs in every
/// worker instance; the state row's lock lets one at a time do it.
struct AnalyticsRollup: Service {
    let repository: AnalyticsRepository
    let interval: Duration
    let settle: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    // Catch up in batches, then wait.
                    while let rows = try await repository.rollUp(settle: settle), rows == 50_000 {}
                } catch {
                    logger.warning("analytics rollup failed; retrying", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
