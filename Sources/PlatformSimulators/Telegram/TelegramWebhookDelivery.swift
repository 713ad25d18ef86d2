import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The inbound side: Telegram pushing updates to the gateway's webhook, or queueing them for
/// getUpdates when no webhook is set.
extension TelegramSimulator {
    /// Delivers one Update. A missing update_id is assigned (per bot, sequential).
    /// - Returns: the webhook's HTTP status; 0 when nothing was POSTed (no webhook is set, so the
    ///   update waits for getUpdates, or the bot's allowed_updates exclude it). A non-2xx status
    ///   leaves the update queued, as Telegram retries; see `retryPendingWebhookDeliveries()`.
    /// - Throws: `SimulatorError` for an unknown bot, or when the webhook cannot be reached (the
    ///   update stays queued then too).
    @discardableResult
    public func deliver(update: SimulatorJSON, toBotToken token: String) async throws -> Int {
        guard case .object(var object) = update else { throw SimulatorError("an Update must be a JSON object") }
        let queued = try state.withLock {
            state throws(SimulatorError) -> (TelegramState.PendingUpdate, TelegramState.WebhookRecord?)? in
            guard var bot = state.bots[token] else { throw SimulatorError("no bot with token \(token)") }
            let id: Int
            if let given = object["update_id"]?.intValue {
                id = Int(given)
                bot.nextUpdateID = max(bot.nextUpdateID, id + 1)
            } else {
                id = bot.nextUpdateID
                bot.nextUpdateID += 1
                object["update_id"] = .int(Int64(id))
            }
            let type = object.keys.filter { $0 != "update_id" }.sorted().first ?? "unknown"
            let filter = bot.webhook?.allowedUpdates ?? bot.allowedUpdates
            guard Self.isAllowed(type, by: filter) else {
                state.bots[token] = bot
                return nil
            }
            let pending = TelegramState.PendingUpdate(id: id, payload: .object(object), type: type)
            bot.pending.append(pending)
            state.bots[token] = bot
            return (pending, bot.webhook)
        }
        guard let (pending, webhook) = queued, let webhook else { return 0 }
        return try await post(pending, to: webhook, botToken: token)
    }

    /// Accepts JSONSerialization-style dictionaries (`["message": [...]]`).
    @discardableResult
    public func deliver(update: [String: Any], toBotToken token: String) async throws -> Int {
        try await deliver(update: SimulatorJSON(any: update), toBotToken: token)
    }

    /// Accepts raw JSON text of an Update.
    @discardableResult
    public func deliver(update: Data, toBotToken token: String) async throws -> Int {
        try await deliver(update: SimulatorJSON(parsing: update), toBotToken: token)
    }

    /// Re-POSTs queued updates to every bot's webhook, oldest first, stopping per bot at the first
    /// failure so order is kept. - Returns: how many updates are still undelivered.
    @discardableResult
    public func retryPendingWebhookDeliveries() async -> Int {
        let work = state.withLock { state in
            state.bots.compactMap {
                token, bot -> (String, TelegramState.WebhookRecord, [TelegramState.PendingUpdate])? in
                guard let hook = bot.webhook, !bot.pending.isEmpty else { return nil }
                return (token, hook, bot.pending)
            }
        }
        for (token, hook, updates) in work {
            for update in updates {
                guard let status = try? await post(update, to: hook, botToken: token), (200..<300).contains(status)
                else { break }
            }
        }
        return state.withLock { state in
            state.bots.values.filter { $0.webhook != nil }.reduce(0) { $0 + $1.pending.count }
        }
    }

    private func post(_ update: TelegramState.PendingUpdate, to hook: TelegramState.WebhookRecord, botToken: String)
        async throws -> Int
    {
        var configuration = HTTPClient.Configuration()
        if let trustedCAPath {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(trustedCAPath)
            configuration.tlsConfiguration = tls
        }
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: hook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let secret = hook.secretToken { request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: secret) }
        request.body = .bytes(ByteBuffer(bytes: Array(update.payload.jsonString.utf8)))
        let outcome: Result<Int, any Error>
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            // Drain the body so the connection can close cleanly; its content does not matter.
            _ = try? await response.body.collect(upTo: 1 << 20)
            outcome = .success(Int(response.status.code))
        } catch {
            outcome = .failure(error)
        }
        try? await client.shutdown()
        let now = state.withLock { $0.now }
        state.withLock { state in
            guard var bot = state.bots[botToken] else { return }
            switch outcome {
            case .success(let status) where (200..<300).contains(status):
                bot.pending.removeAll { $0.id == update.id }
            case .success(let status):
                bot.webhook?.lastErrorDate = now
                bot.webhook?.lastErrorMessage =
                    "Wrong response from the webhook: \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)"
            case .failure(let error):
                bot.webhook?.lastErrorDate = now
                bot.webhook?.lastErrorMessage = "Connection refused: \(error)"
            }
            state.bots[botToken] = bot
        }
        switch outcome {
        case .success(let status): return status
        case .failure(let error): throw SimulatorError("webhook delivery to \(hook.url) failed: \(error)")
        }
    }
}
