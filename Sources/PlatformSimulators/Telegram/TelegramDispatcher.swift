import Foundation

/// Routing of `/bot<token>/<method>`: authentication, method lookup, armed failures and flood
/// control happen here in the Bot API's order, then the method runs and the call is recorded.
extension TelegramSimulator {
    static let methodNames: [String: String] = Dictionary(
        uniqueKeysWithValues: [
            "getMe", "getChat", "sendChatAction", "setWebhook", "deleteWebhook", "getWebhookInfo", "getUpdates",
            "sendMessage", "copyMessage", "editMessageText", "editMessageCaption", "deleteMessage", "sendPhoto",
            "sendVideo", "sendDocument", "sendAudio", "sendVoice", "sendAnimation", "sendSticker", "sendMediaGroup",
            "getFile",
        ].map { ($0.lowercased(), $0) })

    /// Methods that post into a chat and so count for flood control.
    static let sendingMethods: Set<String> = [
        "sendMessage", "copyMessage", "sendPhoto", "sendVideo", "sendDocument", "sendAudio", "sendVoice",
        "sendAnimation", "sendSticker", "sendMediaGroup",
    ]

    func handle(_ request: SimulatorRequest) async -> SimulatorResponse {
        let segments = request.pathSegments
        if segments.count >= 3, segments[0] == "file", segments[1].hasPrefix("bot"), request.method == "GET" {
            return downloadFile(token: String(segments[1].dropFirst(3)), path: segments[2...].joined(separator: "/"))
        }
        guard segments.count == 2, segments[0].hasPrefix("bot") else { return TelegramAPIError.notFound.response }
        let token = String(segments[0].dropFirst(3))
        let requested = segments[1]
        var chatID: Int64?
        let response: SimulatorResponse
        do {
            let result = try await perform(token: token, requested: requested, request: request, chatID: &chatID)
            response = .json(200, ["ok": true, "result": result])
        } catch {
            response = error.response
        }
        let method = Self.methodNames[requested.lowercased()] ?? requested
        state.withLock {
            $0.calls.append(Call(method: method, botToken: token, chatID: chatID, status: response.status))
        }
        return response
    }

    private func perform(
        token: String, requested: String, request: SimulatorRequest, chatID: inout Int64?
    ) async throws(TelegramAPIError) -> SimulatorJSON {
        guard let bot = state.withLock({ $0.bots[token]?.user }) else { throw .unauthorized }
        guard let method = Self.methodNames[requested.lowercased()] else { throw .notFound }
        guard request.method == "GET" || request.method == "POST" else { throw .notFound }
        if request.bodyTooLarge { throw TelegramAPIError(code: 413, description: "Request Entity Too Large") }
        let params = try TelegramParameters(request: request)
        chatID = params.numericChatID
        let call = TelegramCall(token: token, bot: bot, method: method, params: params)
        let matchedChat = chatID
        if let failure = state.withLock({ $0.takeFailure(method: method, chatID: matchedChat) }) {
            throw TelegramAPIError(failure)
        }
        let isSending = Self.sendingMethods.contains(method)
        if isSending, let chatID { try checkFlood(chatID: chatID) }
        let result = try await run(call)
        if isSending, let chatID { recordFlood(chatID: chatID) }
        return result
    }

    private func run(_ call: TelegramCall) async throws(TelegramAPIError) -> SimulatorJSON {
        switch call.method {
        case "getMe": return userJSON(call.bot, botDetails: true)
        case "getChat": return try getChat(call)
        case "sendChatAction": return try sendChatAction(call)
        case "setWebhook": return try setWebhook(call)
        case "deleteWebhook": return deleteWebhook(call)
        case "getWebhookInfo": return getWebhookInfo(call)
        case "getUpdates": return try await getUpdates(call)
        case "sendMessage": return try sendMessage(call)
        case "copyMessage": return try copyMessage(call)
        case "editMessageText": return try editMessageText(call)
        case "editMessageCaption": return try editMessageCaption(call)
        case "deleteMessage": return try deleteMessage(call)
        case "sendMediaGroup": return try sendMediaGroup(call)
        case "getFile": return try getFile(call)
        default:
            guard let kind = Self.mediaMethodKinds[call.method] else { throw .notFound }
            return try sendMedia(call, kind: kind)
        }
    }

    private func checkFlood(chatID: Int64) throws(TelegramAPIError) {
        let uptime = ProcessInfo.processInfo.systemUptime
        let retryAfter = state.withLock { state -> Int? in
            guard let limit = state.floodLimit else { return nil }
            let recent = (state.floodLog[chatID] ?? []).filter { uptime - $0 < 1 }
            state.floodLog[chatID] = recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return max(1, Int((1 - (uptime - oldest)).rounded(.up)))
        }
        if let retryAfter { throw .tooManyRequests(retryAfter: retryAfter) }
    }

    private func recordFlood(chatID: Int64) {
        let uptime = ProcessInfo.processInfo.systemUptime
        state.withLock { state in
            guard state.floodLimit != nil else { return }
            state.floodLog[chatID, default: []].append(uptime)
        }
    }

    private func getChat(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        try state.withLock { state throws(TelegramAPIError) in
            let id = try state.targetChat(try call.params.chatIdentifier(), token: call.token)
            guard let chat = state.chats[id] else { throw .chatNotFound }
            return chatJSON(chat)
        }
    }

    private func sendChatAction(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        try state.withLock { state throws(TelegramAPIError) in
            _ = try state.targetChat(try call.params.chatIdentifier(), token: call.token)
        }
        guard call.params.string("action")?.isEmpty == false else { throw .badRequest("action is empty") }
        return true
    }
}

/// One authenticated call on its way to a method.
struct TelegramCall: Sendable {
    var token: String
    var bot: TelegramSimulator.User
    var method: String
    var params: TelegramParameters
}
