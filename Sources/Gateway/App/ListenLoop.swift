import JobQueue
import Logging
import PostgresNIO
import Synchronization

/// LISTENs on `channel` until the task is cancelled, handing each notification's payload to
/// `received`. A lost connection (or a server that is down) is retried after 200 ms, doubling to
/// 10 s, and afresh from 200 ms once a LISTEN was in place again; `listening` runs each time one
/// is, since notifications sent meanwhile are lost. Cancellation ends it at once, even when the
/// LISTEN's connection died without postgres-nio noticing (`abandoningOnCancellation`).
func listenLoop(
    client: PostgresClient, channel: String, logger: Logger, unavailable: Logger.Message,
    listening: @escaping @Sendable () -> Void, received: @escaping @Sendable (String) -> Void
) async {
    let listened = ListenedFlag()
    var backoff = Duration.milliseconds(200)
    while !Task.isCancelled {
        do {
            try await abandoningOnCancellation {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        listened.set()
                        listening()
                        for try await notification in notifications { received(notification.payload) }
                    }
                }
            }
        } catch {
            if Task.isCancelled { return }
            logger.debug(unavailable, metadata: ["error": "\(error)"])
        }
        if listened.take() { backoff = .milliseconds(200) }
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(10))
    }
}

private final class ListenedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    /// Whether it was set since the last take.
    func take() -> Bool { value.exchange(false, ordering: .relaxed) }
}
