import Foundation

/// Who a request acts as: a bot (Authorization: Bot …) or a webhook (id and token in the path).
enum DiscordActor: Sendable {
    case bot(DiscordState.Bot)
    case webhook(DiscordState.Webhook)
    /// An interaction's token in a webhook route (`/webhooks/{application.id}/{token}/…`).
    case interaction(applicationID: String, token: String)
}

/// A matched route of the REST API.
struct DiscordRoute: Sendable {
    var template: String
    var methods: Set<String>
    var channelID: String?
    var messageID: String?
    var webhookID: String?
    var webhookToken: String?

    /// Matches the segments after /api/v10.
    static func match(_ segments: [String]) -> DiscordRoute? {
        switch segments.count {
        case 2 where segments == ["gateway", "bot"]:
            return DiscordRoute(template: "/gateway/bot", methods: ["GET"])
        case 3 where segments[0] == "applications" && segments[2] == "commands":
            return DiscordRoute(
                template: "/applications/{application.id}/commands", methods: ["PUT"], messageID: segments[1])
        case 2 where segments == ["users", "@me"]:
            return DiscordRoute(template: "/users/@me", methods: ["GET"])
        case 2 where segments[0] == "channels":
            return DiscordRoute(template: "/channels/{channel.id}", methods: ["GET"], channelID: segments[1])
        case 3 where segments[0] == "channels" && segments[2] == "messages":
            return DiscordRoute(template: "/channels/{channel.id}/messages", methods: ["POST"], channelID: segments[1])
        case 4 where segments[0] == "channels" && segments[2] == "messages":
            return DiscordRoute(
                template: "/channels/{channel.id}/messages/{message.id}", methods: ["GET", "PATCH", "DELETE"],
                channelID: segments[1], messageID: segments[3])
        case 3 where segments[0] == "webhooks":
            return DiscordRoute(
                template: "/webhooks/{webhook.id}/{webhook.token}", methods: ["GET", "POST"], webhookID: segments[1],
                webhookToken: segments[2])
        case 5 where segments[0] == "webhooks" && segments[3] == "messages":
            return DiscordRoute(
                template: "/webhooks/{webhook.id}/{webhook.token}/messages/{message.id}",
                methods: ["GET", "PATCH", "DELETE"], messageID: segments[4], webhookID: segments[1],
                webhookToken: segments[2])
        default:
            return nil
        }
    }
}

/// Routing: route match, size limit, authentication, rate-limit bucket, armed failures, then
/// the handler; every answer gets the bucket's headers and is recorded.
extension DiscordSimulator {
    func handle(_ request: SimulatorRequest) async -> SimulatorResponse {
        let segments = request.pathSegments
        if segments.count == 4, segments[0] == "attachments", request.method == "GET" {
            return serveAttachment(channelID: segments[1], attachmentID: segments[2])
        }
        guard segments.count > 2, segments[0] == "api", segments[1] == "v10",
            let route = DiscordRoute.match(Array(segments.dropFirst(2)))
        else {
            record(request, route: request.path, status: 404, channelID: nil, webhookID: nil)
            return DiscordAPIError.notFound.response
        }
        var channelID = route.channelID
        var bucketHeaders: [(String, String)] = []
        var response: SimulatorResponse
        do throws(DiscordAPIError) {
            guard route.methods.contains(request.method) else { throw .methodNotAllowed }
            if request.bodyTooLarge || request.body.count > Self.maxRequestSize { throw .entityTooLarge }
            let actor = try authenticate(route, request)
            if case .webhook(let webhook) = actor { channelID = webhook.channelID }
            let routeName = "\(request.method) \(route.template)"
            let majorChannel = channelID
            let outcome = state.withLock { state in
                state.rateLimiter.take(
                    route: routeName, channelID: majorChannel, webhookID: route.webhookID,
                    now: ProcessInfo.processInfo.systemUptime, wallNow: Date().timeIntervalSince1970)
            }
            switch outcome {
            case .limited(let error): throw error
            case .allowed(let headers): bucketHeaders = headers
            }
            if let failure = state.withLock({ $0.takeFailure(route: routeName, channelID: majorChannel) }) {
                throw DiscordAPIError(failure)
            }
            response = try run(route, method: request.method, actor: actor, request: request)
        } catch {
            response = error.response
        }
        let present = Set(response.headers.map { $0.0.lowercased() })
        response.headers += bucketHeaders.filter { !present.contains($0.0.lowercased()) }
        record(
            request, route: route.template, status: response.status, channelID: channelID, webhookID: route.webhookID)
        return response
    }

    private func record(_ request: SimulatorRequest, route: String, status: Int, channelID: String?, webhookID: String?)
    {
        let entry = Request(
            method: request.method, route: route, path: request.path, status: status, channelID: channelID,
            webhookID: webhookID)
        state.withLock { $0.requests.append(entry) }
    }

    private func authenticate(_ route: DiscordRoute, _ request: SimulatorRequest) throws(DiscordAPIError)
        -> DiscordActor
    {
        if let webhookID = route.webhookID, let token = route.webhookToken,
            state.withLock({ $0.interactionTokens[token] == webhookID })
        {
            return .interaction(applicationID: webhookID, token: token)
        }
        if let webhookID = route.webhookID {
            // Webhook routes authenticate with the token in the path; no Authorization needed.
            guard let webhook = state.withLock({ $0.webhooks[webhookID] }) else { throw .unknownWebhook }
            guard webhook.token == route.webhookToken else { throw .invalidWebhookToken }
            return .webhook(webhook)
        }
        guard let header = request.header("authorization"), header.hasPrefix("Bot ") else { throw .unauthorized }
        let token = String(header.dropFirst(4)).trimmingASCIISpaces()
        guard let bot = state.withLock({ $0.bots[token] }) else { throw .unauthorized }
        return .bot(bot)
    }

    private func run(_ route: DiscordRoute, method: String, actor: DiscordActor, request: SimulatorRequest)
        throws(DiscordAPIError) -> SimulatorResponse
    {
        switch (actor, route.template, method) {
        case (.bot, "/gateway/bot", _):
            let (remaining, resetAfter) = gateway.state.withLock {
                ($0.sessionStartRemaining, $0.sessionStartResetAfter)
            }
            return .json(
                200,
                [
                    "url": .string(gatewayURL), "shards": 1,
                    "session_start_limit": [
                        "total": 1000, "remaining": .int(Int64(remaining)), "reset_after": .int(Int64(resetAfter)),
                        "max_concurrency": 1,
                    ],
                ])
        case (.bot(let bot), "/applications/{application.id}/commands", _):
            guard bot.applicationID == route.messageID else { throw .unauthorized }
            return try registerCommands(applicationID: bot.applicationID, request: request)
        case (.interaction(_, let token), _, "PATCH") where route.messageID == "@original":
            return try editOriginalResponse(token: token, request: request)
        case (.bot(let bot), "/users/@me", _):
            return .json(200, botUserJSON(bot))
        case (.bot, "/channels/{channel.id}", _):
            guard let channel = state.withLock({ $0.channels[route.channelID ?? ""] }) else { throw .unknownChannel }
            return .json(200, channelJSON(channel))
        case (.bot(let bot), "/channels/{channel.id}/messages", _):
            return try createChannelMessage(bot: bot, channelID: route.channelID ?? "", request: request)
        case (.bot(let bot), _, _) where route.messageID != nil:
            return try channelMessage(
                bot: bot, channelID: route.channelID ?? "", messageID: route.messageID ?? "", method: method,
                request: request)
        case (.webhook(let webhook), "/webhooks/{webhook.id}/{webhook.token}", "GET"):
            return .json(200, state.withLock { webhookJSON(webhook, in: $0) })
        case (.webhook(let webhook), "/webhooks/{webhook.id}/{webhook.token}", _):
            return try executeWebhook(webhook, request: request)
        case (.webhook(let webhook), _, _):
            return try webhookMessage(webhook, messageID: route.messageID ?? "", method: method, request: request)
        default:
            throw .notFound
        }
    }

    private func serveAttachment(channelID: String, attachmentID: String) -> SimulatorResponse {
        let attachment = state.withLock { state -> Attachment? in
            for id in state.channels[channelID]?.order ?? [] {
                if let match = state.messages[id]?.attachments.first(where: { $0.id == attachmentID }) { return match }
            }
            return nil
        }
        guard let attachment else { return DiscordAPIError.notFound.response }
        return .bytes(200, contentType: attachment.contentType ?? "application/octet-stream", Array(attachment.bytes))
    }
}
