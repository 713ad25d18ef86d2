import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PlatformHTTP

/// Discord's REST API. One `send` does auth, rate-limit scheduling and errors; the calls the
/// forwarder makes are typed extensions.
public struct DiscordClient: Sendable {
    public struct Configuration: Sendable {
        public var apiBaseURL: String
        public var timeout: Duration
        public var userAgent: String

        public init(
            apiBaseURL: String = "https://discord.com/api/v10", timeout: Duration = .seconds(15),
            userAgent: String = "DiscordBot (https://github.com/autoforwardx/afx, 1.0)"
        ) {
            self.apiBaseURL = apiBaseURL
            self.timeout = timeout
            self.userAgent = userAgent
        }
    }

    public enum Auth: Sendable {
        case bot(DiscordToken)
        /// Webhook routes carry their token in the path.
        case none
    }

    public let configuration: Configuration
    public let rateLimiter: DiscordRateLimiter
    let http: HTTPClient

    public init(
        configuration: Configuration = .init(), http: HTTPClient, rateLimiter: DiscordRateLimiter = DiscordRateLimiter()
    ) {
        self.configuration = configuration
        self.http = http
        self.rateLimiter = rateLimiter
    }

    struct ErrorBody: Decodable {
        var message: String?
        var code: Int?
        var retryAfter: Double?
        var global: Bool?
    }

    /// Sends one request. `route` names its rate-limit bucket (method, template and major id).
    public func send(
        _ method: HTTPMethod, path: String, route: String, auth: Auth, body: DiscordMessageBody? = nil,
        files: [DiscordFile] = [], query: String = "", rawJSON: Data? = nil
    ) async throws(DiscordError) -> Data {
        // Interaction and webhook routes are exempt from the bot's global limit.
        if let wait = await rateLimiter.reserve(
            route: route, countsAgainstGlobal: { if case .bot = auth { true } else { false } }())
        {
            throw DiscordError(
                kind: .rateLimited(retryAfter: wait.secondsDouble, global: false), status: 0,
                message: "bucket for \(route) is empty")
        }
        var request = HTTPClientRequest(url: configuration.apiBaseURL + path + (query.isEmpty ? "" : "?" + query))
        request.method = method
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if case .bot(let token) = auth { request.headers.add(name: "Authorization", value: "Bot \(token.value)") }
        do {
            if let rawJSON {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .data(rawJSON)
            } else if files.isEmpty {
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .data(try JSONEncoder.discord.encode(body))
                }
            } else {
                var form = MultipartForm()
                var payload = body ?? DiscordMessageBody()
                payload.attachments = files.enumerated().map {
                    DiscordUploadAttachment(id: $0.offset, filename: $0.element.filename)
                }
                form.add(name: "payload_json", json: try JSONEncoder.discord.encode(payload))
                for (index, file) in files.enumerated() {
                    form.add(
                        name: "files[\(index)]", filename: file.filename, contentType: file.contentType, data: file.data
                    )
                }
                request.headers.add(name: "Content-Type", value: form.contentType)
                request.body = .data(form.body)
            }
        } catch {
            throw DiscordError(kind: .rejected, status: 0, message: "the request body does not encode: \(error)")
        }
        let exchange: HTTPExchange
        do {
            exchange = try await HTTPExchange.send(request, on: http, timeout: configuration.timeout)
        } catch {
            throw DiscordError(kind: .network, status: 0, message: "\(route): \(type(of: error))")
        }
        let errorBody =
            exchange.status >= 300 ? try? JSONDecoder.discord.decode(ErrorBody.self, from: exchange.body) : nil
        await rateLimiter.update(
            route: route, status: exchange.status, headers: exchange.headers,
            retryAfter: errorBody?.retryAfter ?? exchange.headers.first(name: "Retry-After").flatMap(Double.init))
        switch exchange.status {
        case 200..<300:
            return exchange.body
        case 429:
            let retryAfter =
                errorBody?.retryAfter ?? exchange.headers.first(name: "Retry-After").flatMap(Double.init) ?? 1
            throw DiscordError(
                kind: .rateLimited(retryAfter: retryAfter, global: errorBody?.global ?? false), status: 429,
                code: errorBody?.code ?? 0, message: errorBody?.message ?? "rate limited")
        default:
            throw DiscordError(
                kind: exchange.status >= 500 ? .server : .rejected, status: exchange.status, code: errorBody?.code ?? 0,
                message: errorBody?.message ?? "HTTP \(exchange.status)")
        }
    }

    func decode<T: Decodable>(
        _ data: Data, as type: T.Type, route: String, decoder: JSONDecoder = .discord
    ) throws(DiscordError) -> T {
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw DiscordError(kind: .network, status: 200, message: "\(route): unreadable answer")
        }
    }
}

extension DiscordClient {
    public func currentUser(token: DiscordToken) async throws(DiscordError) -> DiscordUser {
        let route = "GET /users/@me"
        return try decode(
            try await send(.GET, path: "/users/@me", route: route, auth: .bot(token)), as: DiscordUser.self,
            route: route)
    }

    /// Create Message as the bot.
    public func createMessage(
        channelID: String, body: DiscordMessageBody, files: [DiscordFile] = [], token: DiscordToken
    ) async throws(DiscordError) -> DiscordCreatedMessage {
        let route = "POST /channels/\(channelID)/messages"
        let data = try await send(
            .POST, path: "/channels/\(channelID)/messages", route: route, auth: .bot(token), body: body, files: files)
        return try decode(data, as: DiscordCreatedMessage.self, route: route, decoder: JSONDecoder())
    }

    public func editMessage(
        channelID: String, messageID: String, body: DiscordMessageBody, token: DiscordToken
    ) async throws(DiscordError) -> DiscordMessage {
        let route = "PATCH /channels/\(channelID)/messages"
        let data = try await send(
            .PATCH, path: "/channels/\(channelID)/messages/\(messageID)", route: route, auth: .bot(token), body: body)
        return try decode(data, as: DiscordMessage.self, route: route)
    }

    public func deleteMessage(channelID: String, messageID: String, token: DiscordToken) async throws(DiscordError) {
        _ = try await send(
            .DELETE, path: "/channels/\(channelID)/messages/\(messageID)",
            route: "DELETE /channels/\(channelID)/messages",
            auth: .bot(token))
    }

    /// Execute Webhook with `wait=true`, so the created message (and its id) comes back.
    public func executeWebhook(
        _ webhook: DiscordWebhookURL, body: DiscordMessageBody, files: [DiscordFile] = []
    ) async throws(DiscordError) -> DiscordCreatedMessage {
        let route = "POST /webhooks/\(webhook.id)"
        let data = try await send(
            .POST, path: "/webhooks/\(webhook.id)/\(webhook.token)", route: route, auth: .none, body: body,
            files: files,
            query: "wait=true")
        return try decode(data, as: DiscordCreatedMessage.self, route: route, decoder: JSONDecoder())
    }

    public func editWebhookMessage(
        _ webhook: DiscordWebhookURL, messageID: String, body: DiscordMessageBody
    ) async throws(DiscordError) -> DiscordMessage {
        let route = "PATCH /webhooks/\(webhook.id)/messages"
        let data = try await send(
            .PATCH, path: "/webhooks/\(webhook.id)/\(webhook.token)/messages/\(messageID)", route: route, auth: .none,
            body: body)
        return try decode(data, as: DiscordMessage.self, route: route)
    }

    public func deleteWebhookMessage(_ webhook: DiscordWebhookURL, messageID: String) async throws(DiscordError) {
        _ = try await send(
            .DELETE, path: "/webhooks/\(webhook.id)/\(webhook.token)/messages/\(messageID)",
            route: "DELETE /webhooks/\(webhook.id)/messages", auth: .none)
    }
}

extension Duration {
    var secondsDouble: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
