/// An error answer of the Bot API: `{"ok":false,"error_code":N,"description":…,"parameters":…}`
/// with the HTTP status equal to error_code.
struct TelegramAPIError: Error, Sendable {
    var code: Int
    var description: String
    var parameters: SimulatorJSON?
    /// Set for 5xx failures, which the proxy in front of the Bot API answers with HTML.
    var rawResponse: SimulatorResponse?

    static func badRequest(_ message: String) -> TelegramAPIError {
        TelegramAPIError(code: 400, description: "Bad Request: \(message)")
    }

    static func forbidden(_ message: String) -> TelegramAPIError {
        TelegramAPIError(code: 403, description: "Forbidden: \(message)")
    }

    static func conflict(_ message: String) -> TelegramAPIError {
        TelegramAPIError(code: 409, description: "Conflict: \(message)")
    }

    static let unauthorized = TelegramAPIError(code: 401, description: "Unauthorized")
    static let notFound = TelegramAPIError(code: 404, description: "Not Found")
    static let chatNotFound = badRequest("chat not found")

    static func tooManyRequests(retryAfter: Int) -> TelegramAPIError {
        TelegramAPIError(
            code: 429, description: "Too Many Requests: retry after \(retryAfter)",
            parameters: ["retry_after": .int(Int64(retryAfter))])
    }

    init(code: Int, description: String, parameters: SimulatorJSON? = nil, rawResponse: SimulatorResponse? = nil) {
        self.code = code
        self.description = description
        self.parameters = parameters
        self.rawResponse = rawResponse
    }

    init(_ failure: TelegramFailure) {
        switch failure {
        case .tooManyRequests(let retryAfter):
            self = .tooManyRequests(retryAfter: retryAfter)
        case .badRequest(let message):
            self = .badRequest(Self.stripping("Bad Request: ", from: message))
        case .forbidden(let message):
            self = .forbidden(Self.stripping("Forbidden: ", from: message))
        case .migrate(let chatID):
            self.init(
                code: 400, description: "Bad Request: group chat was upgraded to a supergroup chat",
                parameters: ["migrate_to_chat_id": .int(chatID)])
        case .serverError(let status):
            if status == 500 {
                self.init(code: 500, description: "Internal Server Error")
            } else {
                self.init(code: status, description: "", rawResponse: .proxyErrorPage(status))
            }
        }
    }

    /// Lets callers pass either "chat not found" or the full "Bad Request: chat not found".
    private static func stripping(_ prefix: String, from message: String) -> String {
        message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
    }

    var response: SimulatorResponse {
        if let rawResponse { return rawResponse }
        var body: [String: SimulatorJSON] = [
            "ok": false, "error_code": .int(Int64(code)), "description": .string(description),
        ]
        if let parameters { body["parameters"] = parameters }
        return .json(code, .object(body))
    }
}
