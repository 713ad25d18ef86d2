import Foundation
import HTTPTypes
import Hummingbird
import JobQueue
import Logging
import Store
import TelegramBotAPI

/// `POST /telegram/{bot}/webhook`: Telegram's updates for one linked bot. The secret header is
/// checked before the body is read; a valid update is acknowledged only once it and its jobs (its
/// deliveries, or a route job) are committed, so a crash or a database outage makes Telegram retry
/// instead of losing it.
struct TelegramWebhookController {
    let accounts: AccountDirectory
    let ingest: InboundIngest
    let requestTimeout: Duration

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("telegram/:bot/webhook") { request, context in
            try await self.receive(request, context: context)
        }
    }

    func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let botID = context.parameters.get("bot", as: Int64.self) else {
            throw APIError(.notFound, code: "unknown_bot", "the webhook path names no bot")
        }
        let bot: AccountDirectory.TelegramBot?
        if let cached = accounts.cachedTelegram(id: botID) {
            bot = cached
        } else {
            do {
                bot = try await withDatabaseDeadline(requestTimeout) { try await accounts.telegram(id: botID) }
            } catch let error where error.isDatabaseUnavailable {
                throw APIError.databaseUnavailable()
            }
        }
        guard let bot else {
            throw APIError(.notFound, code: "unknown_bot", "no Telegram bot \(botID) is registered here")
        }
        guard let hash = bot.webhookSecretHash,
            WebhookSecret.verify(header: request.headers[values: .telegramSecret].first, expectedHash: hash)
        else {
            throw APIError.unauthorized(
                "invalid_secret", "the X-Telegram-Bot-Api-Secret-Token header is missing or wrong")
        }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let update: InboundUpdate?
        do {
            update = try InboundUpdate.telegram(Data(buffer: body), accountID: bot.id, plan: bot.plan)
        } catch {
            throw APIError.badRequest("invalid_update", "the body is not a Telegram Update (JSON with an update_id)")
        }
        // Updates we do not forward are acknowledged and dropped, so Telegram stops sending them.
        guard let update else { return Response(status: .ok) }
        do {
            // Each batch write has the request timeout as its deadline (InboundIngest.store).
            _ = try await ingest.ingest(update)
        } catch let error where error.isDatabaseUnavailable {
            throw APIError.databaseUnavailable()
        }
        return Response(status: .ok)
    }
}

extension HTTPField.Name {
    static var telegramSecret: Self { Self(WebhookSecret.headerName)! }
}

/// Which lane a user's work runs in. Plans arrive as data with the accounts work; until then the
/// lane follows the stored plan name.
enum PlanLane {
    static func lane(for plan: String) -> Lane {
        switch plan {
        case "elite": .high
        case "pro": .medium
        default: .low
        }
    }
}
