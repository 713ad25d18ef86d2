import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PlatformHTTP

/// The Bot API over HTTPS. One `call` does transport, the envelope and errors; the methods the
/// forwarder uses are typed extensions. Base URLs are configuration (a local Bot API server, or
/// the simulator in tests).
public struct TelegramClient: Sendable {
    public struct Configuration: Sendable {
        public var apiBaseURL: String
        public var fileBaseURL: String
        public var timeout: Duration
        /// getFile serves files up to 20 MB.
        public var maxDownloadBytes: Int

        public init(
            apiBaseURL: String = "https://api.telegram.org", fileBaseURL: String? = nil,
            timeout: Duration = .seconds(30),
            maxDownloadBytes: Int = 20_000_000
        ) {
            self.apiBaseURL = apiBaseURL
            self.fileBaseURL = fileBaseURL ?? apiBaseURL + "/file"
            self.timeout = timeout
            self.maxDownloadBytes = maxDownloadBytes
        }
    }

    public let configuration: Configuration
    let http: HTTPClient

    public init(configuration: Configuration = .init(), http: HTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    struct Envelope<Result: Decodable>: Decodable {
        struct Parameters: Decodable {
            var retryAfter: Int?
            var migrateToChatId: Int64?
        }
        var ok: Bool
        var result: Result?
        var errorCode: Int?
        var description: String?
        var parameters: Parameters?
    }

    /// Calls `method` with JSON parameters.
    public func call<Result: Decodable>(
        _ method: String, token: BotToken, parameters: some Encodable, as: Result.Type = Result.self,
        timeout: Duration? = nil
    ) async throws(TelegramError) -> Result {
        let body: Data
        do {
            body = try JSONEncoder.telegram.encode(parameters)
        } catch {
            throw TelegramError(kind: .rejected, code: 0, message: "parameters for \(method) do not encode: \(error)")
        }
        var request = HTTPClientRequest(url: "\(configuration.apiBaseURL)/bot\(token.value)/\(method)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .data(body)
        return try await perform(request, method: method, timeout: timeout)
    }

    /// Calls `method` with a multipart body (uploads).
    public func call<Result: Decodable>(
        _ method: String, token: BotToken, form: MultipartForm, as: Result.Type = Result.self
    ) async throws(TelegramError) -> Result {
        var request = HTTPClientRequest(url: "\(configuration.apiBaseURL)/bot\(token.value)/\(method)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: form.contentType)
        request.body = .data(form.body)
        return try await perform(request, method: method, timeout: nil)
    }

    private func perform<Result: Decodable>(
        _ request: HTTPClientRequest, method: String, timeout: Duration?
    ) async throws(TelegramError) -> Result {
        let exchange: HTTPExchange
        do {
            exchange = try await HTTPExchange.send(request, on: http, timeout: timeout ?? configuration.timeout)
        } catch {
            // Never echo the URL: it carries the token.
            throw TelegramError(kind: .network, code: 0, message: "\(method): \(type(of: error))")
        }
        let envelope: Envelope<Result>
        do {
            envelope = try JSONDecoder.telegram.decode(Envelope<Result>.self, from: exchange.body)
        } catch {
            let kind: TelegramError.Kind = exchange.status >= 500 ? .server : .network
            throw TelegramError(
                kind: kind, code: exchange.status, message: "\(method): unreadable answer (HTTP \(exchange.status))")
        }
        if envelope.ok, let result = envelope.result { return result }
        let code = envelope.errorCode ?? exchange.status
        let message = envelope.description ?? "HTTP \(exchange.status)"
        if let retryAfter = envelope.parameters?.retryAfter {
            throw TelegramError(kind: .rateLimited(retryAfter: retryAfter), code: code, message: message)
        }
        if let newID = envelope.parameters?.migrateToChatId {
            throw TelegramError(kind: .migrated(toChatID: newID), code: code, message: message)
        }
        throw TelegramError(kind: code >= 500 ? .server : .rejected, code: code, message: message)
    }

    /// Downloads a file by the `file_path` getFile returned. The URL embeds the token, so the
    /// bytes are fetched here and never the URL handed on.
    public func download(filePath: String, token: BotToken) async throws(TelegramError) -> Data {
        var request = HTTPClientRequest(url: "\(configuration.fileBaseURL)/bot\(token.value)/\(filePath)")
        request.method = .GET
        let exchange: HTTPExchange
        do {
            exchange = try await HTTPExchange.send(
                request, on: http, timeout: configuration.timeout, maxBytes: configuration.maxDownloadBytes)
        } catch {
            throw TelegramError(kind: .network, code: 0, message: "file download: \(type(of: error))")
        }
        guard exchange.status == 200 else {
            throw TelegramError(
                kind: exchange.status >= 500 ? .server : .rejected, code: exchange.status,
                message: "file download answered HTTP \(exchange.status)")
        }
        return exchange.body
    }
}

extension TelegramClient {
    public func getMe(token: BotToken) async throws(TelegramError) -> TelegramUser {
        try await call("getMe", token: token, parameters: NoParameters())
    }

    /// The chat as this bot sees it; fails when the bot is not in it.
    public func getChat(chatID: Int64, token: BotToken) async throws(TelegramError) -> TelegramChat {
        struct Parameters: Encodable { var chatId: Int64 }
        return try await call("getChat", token: token, parameters: Parameters(chatId: chatID))
    }

    @discardableResult
    public func setWebhook(_ parameters: SetWebhook, token: BotToken) async throws(TelegramError) -> Bool {
        try await call("setWebhook", token: token, parameters: parameters)
    }

    @discardableResult
    public func deleteWebhook(token: BotToken) async throws(TelegramError) -> Bool {
        try await call("deleteWebhook", token: token, parameters: NoParameters())
    }

    public func getWebhookInfo(token: BotToken) async throws(TelegramError) -> TelegramWebhookInfo {
        try await call("getWebhookInfo", token: token, parameters: NoParameters())
    }

    /// Long poll: waits up to `parameters.timeout` seconds for updates.
    public func getUpdates(_ parameters: GetUpdates, token: BotToken) async throws(TelegramError) -> [TelegramUpdate] {
        try await call(
            "getUpdates", token: token, parameters: parameters,
            timeout: .seconds(Int64(parameters.timeout ?? 0) + 10))
    }

    /// The raw JSON of each update, for storing as received.
    public func getRawUpdates(_ parameters: GetUpdates, token: BotToken) async throws(TelegramError) -> [RawJSON] {
        try await call(
            "getUpdates", token: token, parameters: parameters,
            timeout: .seconds(Int64(parameters.timeout ?? 0) + 10))
    }

    public func sendMessage(_ parameters: SendMessage, token: BotToken) async throws(TelegramError) -> TelegramMessage {
        try await call("sendMessage", token: token, parameters: parameters)
    }

    public func copyMessage(_ parameters: CopyMessage, token: BotToken) async throws(TelegramError) -> TelegramMessageID
    {
        try await call("copyMessage", token: token, parameters: parameters)
    }

    public func editMessageText(_ parameters: EditMessageText, token: BotToken) async throws(TelegramError)
        -> TelegramMessage
    {
        try await call("editMessageText", token: token, parameters: parameters)
    }

    public func editMessageCaption(_ parameters: EditMessageCaption, token: BotToken) async throws(TelegramError)
        -> TelegramMessage
    {
        try await call("editMessageCaption", token: token, parameters: parameters)
    }

    @discardableResult
    public func deleteMessage(_ parameters: DeleteMessage, token: BotToken) async throws(TelegramError) -> Bool {
        try await call("deleteMessage", token: token, parameters: parameters)
    }

    public func getFile(fileID: String, token: BotToken) async throws(TelegramError) -> TelegramFile {
        try await call("getFile", token: token, parameters: FileIDParameter(fileId: fileID))
    }

    /// sendPhoto, sendDocument, … with the file uploaded in the form under `field`.
    public func sendMedia(method: String, form: MultipartForm, token: BotToken) async throws(TelegramError)
        -> TelegramMessage
    {
        try await call(method, token: token, form: form)
    }

    public func sendMediaGroup(form: MultipartForm, token: BotToken) async throws(TelegramError) -> [TelegramMessage] {
        try await call("sendMediaGroup", token: token, form: form)
    }
}

/// Any JSON value kept as its bytes (an update stored exactly as Telegram sent it).
public struct RawJSON: Decodable, Sendable {
    public let data: Data

    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        data = try JSONEncoder().encode(value)
    }
}

/// A JSON tree, to round-trip a value without knowing its shape.
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), integer(Int64), string(String), array([JSONValue]), object(
        [String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
