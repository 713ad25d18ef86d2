import Foundation
import JobQueue
import Logging
import PostgresNIO
import Store
import TelegramBotAPI

/// getUpdates long polling for development without a public URL: each batch of updates goes
/// through the same ingest as the webhook (stored with its route job, deduped), then the offset
/// is saved, so a restart neither loses nor repeats updates.
public struct TelegramPoller: Sendable {
    let client: PostgresClient
    let telegram: TelegramClient
    let accountID: Int64
    let token: BotToken
    let plan: String
    let logger: Logger

    public init(
        client: PostgresClient, telegram: TelegramClient, accountID: Int64, token: BotToken, plan: String,
        logger: Logger
    ) {
        self.client = client
        self.telegram = telegram
        self.accountID = accountID
        self.token = token
        self.plan = plan
        self.logger = logger
    }

    public func run(from storedOffset: Int64) async throws {
        let queue = JobQueue(client: client, logger: logger)
        let accounts = AccountRepository(client: client)
        var offset = storedOffset
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            let raw: [RawJSON]
            do {
                raw = try await telegram.getRawUpdates(GetUpdates(offset: offset == 0 ? nil : offset), token: token)
                backoff = .seconds(1)
            } catch {
                if Task.isCancelled { return }
                logger.warning("getUpdates failed; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
                continue
            }
            guard !raw.isEmpty else { continue }
            var updates: [InboundUpdate] = []
            var highest = offset - 1
            for item in raw {
                if let peek = try? TelegramUpdatePeek(item.data) {
                    highest = max(highest, peek.updateID)
                }
                if let update = try? InboundUpdate.telegram(item.data, accountID: accountID, plan: plan) {
                    updates.append(update)
                }
            }
            if !updates.isEmpty {
                let fresh = try await InboundIngest.store(
                    updates, client: client, queue: queue, timeout: .seconds(30), logger: logger)
                logger.info(
                    "stored updates", metadata: ["new": "\(fresh.filter { $0 }.count)", "total": "\(updates.count)"])
            }
            offset = highest + 1
            try await accounts.setPollOffset(telegramAccountID: accountID, offset: offset)
        }
    }
}
