import Foundation

/// getUpdates (long polling), setWebhook, deleteWebhook and getWebhookInfo.
extension TelegramSimulator {
    /// Update kinds the Bot API leaves out unless allowed_updates asks for them.
    static let optInUpdateTypes: Set<String> = ["chat_member", "message_reaction", "message_reaction_count"]

    static func isAllowed(_ type: String, by allowed: [String]?) -> Bool {
        guard let allowed, !allowed.isEmpty else { return !optInUpdateTypes.contains(type) }
        return allowed.contains(type)
    }

    func getUpdates(_ call: TelegramCall) async throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        let offset = try params.int("offset") ?? 0
        let limit = Int(min(100, max(1, try params.int("limit") ?? 100)))
        let timeout = Double(max(0, try params.int("timeout") ?? 0))
        let allowed = try stringList(params.json("allowed_updates"), name: "allowed_updates")
        let generation = try state.withLock { state throws(TelegramAPIError) -> Int in
            guard var bot = state.bots[call.token] else { throw .unauthorized }
            if bot.webhook != nil {
                throw .conflict(
                    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
                )
            }
            // A positive offset confirms everything before it; a negative one keeps only the last -offset.
            if offset > 0 {
                bot.pending.removeAll { $0.id < offset }
            } else if offset < 0 {
                bot.pending = Array(bot.pending.suffix(Int(-offset)))
            }
            if let allowed { bot.allowedUpdates = allowed }
            bot.pollGeneration += 1
            state.bots[call.token] = bot
            return bot.pollGeneration
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while true {
            let (updates, superseded, running) = state.withLock { state -> ([SimulatorJSON], Bool, Bool) in
                guard let bot = state.bots[call.token] else { return ([], false, false) }
                let ready = bot.pending.filter { Self.isAllowed($0.type, by: bot.allowedUpdates) }.prefix(limit)
                return (ready.map(\.payload), bot.pollGeneration != generation, state.isRunning)
            }
            if superseded {
                throw .conflict(
                    "terminated by other getUpdates request; make sure that only one bot instance is running")
            }
            if !updates.isEmpty || !running || ContinuousClock.now >= deadline { return .array(updates) }
            // Polling the state keeps the wait cancellation-safe without continuation bookkeeping;
            // 10 ms is far below what a client can tell apart from an immediate answer.
            do {
                try await Task.sleep(for: .milliseconds(10))
            } catch {
                return .array(updates)
            }
        }
    }

    func setWebhook(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        let url = params.string("url")?.trimmingASCIISpaces() ?? ""
        if url.isEmpty { return deleteWebhook(call) }
        // Real Telegram insists on HTTPS and ports 443/80/88/8443; loopback tests need plain
        // HTTP on any port, so only the shape of the URL is checked.
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host,
            !host.isEmpty
        else { throw .badRequest("bad webhook: invalid webhook URL specified") }
        guard scheme == "https" || scheme == "http" else {
            throw .badRequest("bad webhook: An HTTPS URL must be provided for webhook")
        }
        var secret = params.string("secret_token")
        if secret?.isEmpty == true { secret = nil }
        if let secret {
            if secret.count > 256 { throw .badRequest("secret token is too long") }
            let allowedCharacters = secret.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-")
            }
            if !allowedCharacters { throw .badRequest("secret token contains unallowed characters") }
        }
        let allowed = try stringList(params.json("allowed_updates"), name: "allowed_updates")
        let maxConnections = Int(min(100, max(1, try params.int("max_connections") ?? 40)))
        let drop = params.bool("drop_pending_updates")
        state.withLock { state in
            guard var bot = state.bots[call.token] else { return }
            bot.webhook = TelegramState.WebhookRecord(
                url: url, secretToken: secret, allowedUpdates: allowed ?? bot.webhook?.allowedUpdates,
                maxConnections: maxConnections)
            if let allowed { bot.allowedUpdates = allowed }
            if drop { bot.pending.removeAll() }
            state.bots[call.token] = bot
        }
        return true
    }

    func deleteWebhook(_ call: TelegramCall) -> SimulatorJSON {
        let drop = call.params.bool("drop_pending_updates")
        state.withLock { state in
            state.bots[call.token]?.webhook = nil
            if drop { state.bots[call.token]?.pending.removeAll() }
        }
        return true
    }

    func getWebhookInfo(_ call: TelegramCall) -> SimulatorJSON {
        state.withLock { state in
            guard let bot = state.bots[call.token] else { return .null }
            var info: [String: SimulatorJSON] = [
                "url": .string(bot.webhook?.url ?? ""), "has_custom_certificate": false,
                "pending_update_count": .int(Int64(bot.pending.count)),
            ]
            if let hook = bot.webhook {
                info["max_connections"] = .int(Int64(hook.maxConnections))
                if let allowed = hook.allowedUpdates { info["allowed_updates"] = .array(allowed.map { .string($0) }) }
                if let date = hook.lastErrorDate { info["last_error_date"] = .int(Int64(date.timeIntervalSince1970)) }
                if let message = hook.lastErrorMessage { info["last_error_message"] = .string(message) }
            }
            return .object(info)
        }
    }

    private func stringList(_ json: SimulatorJSON?, name: String) throws(TelegramAPIError) -> [String]? {
        guard let json else { return nil }
        guard let array = json.arrayValue else { throw .badRequest("can't parse \(name) JSON array") }
        var values: [String] = []
        for element in array {
            guard let value = element.stringValue else { throw .badRequest("can't parse \(name) JSON array") }
            values.append(value)
        }
        return values
    }
}
