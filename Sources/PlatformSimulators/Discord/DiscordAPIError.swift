/// An error answer of Discord's REST API: `{"message": …, "code": N}` (plus "errors" for form
/// errors), or a raw response for proxy-level failures.
struct DiscordAPIError: Error, Sendable {
    var response: SimulatorResponse

    static func json(_ status: Int, code: Int, message: String, errors: SimulatorJSON? = nil) -> DiscordAPIError {
        var body: [String: SimulatorJSON] = ["message": .string(message), "code": .int(Int64(code))]
        if let errors { body["errors"] = errors }
        return DiscordAPIError(response: .json(status, .object(body)))
    }

    static let unauthorized = json(401, code: 0, message: "401: Unauthorized")
    static let notFound = json(404, code: 0, message: "404: Not Found")
    static let methodNotAllowed = json(405, code: 0, message: "405: Method Not Allowed")
    static let unknownChannel = json(404, code: 10003, message: "Unknown Channel")
    static let unknownMessage = json(404, code: 10008, message: "Unknown Message")
    static let unknownWebhook = json(404, code: 10015, message: "Unknown Webhook")
    static let invalidWebhookToken = json(401, code: 50027, message: "Invalid Webhook Token")
    static let missingPermissions = json(403, code: 50013, message: "Missing Permissions")
    static let emptyMessage = json(400, code: 50006, message: "Cannot send an empty message")
    static let entityTooLarge = json(413, code: 40005, message: "Request entity too large")
    static let editOthersMessage = json(403, code: 50005, message: "Cannot edit a message authored by another user")
    static let badJSON = json(400, code: 50109, message: "The request body contains invalid JSON.")

    static func invalidForm(_ errors: DiscordFormErrors) -> DiscordAPIError {
        json(400, code: 50035, message: "Invalid Form Body", errors: errors.json)
    }

    static func rateLimited(retryAfter: Double, scope: String, extraHeaders: [(String, String)] = [])
        -> DiscordAPIError
    {
        let global = scope == "global"
        var headers =
            extraHeaders + [
                ("Retry-After", String(Int(retryAfter.rounded(.up)))), ("X-RateLimit-Scope", scope),
            ]
        if global { headers.append(("X-RateLimit-Global", "true")) }
        let body: SimulatorJSON = [
            "message": "You are being rate limited.", "retry_after": .double(retryAfter.roundedTo(places: 3)),
            "global": .bool(global),
        ]
        return DiscordAPIError(response: .json(429, body, headers: headers))
    }

    init(response: SimulatorResponse) {
        self.response = response
    }

    init(_ failure: DiscordFailure) {
        switch failure {
        case .rateLimited(let retryAfter, let global):
            self = .rateLimited(retryAfter: retryAfter, scope: global ? "global" : "user")
        case .sharedRateLimited(let retryAfter):
            self = .rateLimited(retryAfter: retryAfter, scope: "shared")
        case .httpError(let status, let code, let message):
            self = .json(status, code: code, message: message)
        case .serverError(let status):
            self =
                status == 500
                ? .json(500, code: 0, message: "500: Internal Server Error")
                : DiscordAPIError(response: .proxyErrorPage(status))
        }
    }
}

/// Collects "Invalid Form Body" errors by field path; Discord reports every bad field at once,
/// nested as `{"content": {"_errors": [{"code": …, "message": …}]}}`.
struct DiscordFormErrors: Sendable {
    private var entries: [(path: [String], code: String, message: String)] = []

    var isEmpty: Bool { entries.isEmpty }

    mutating func add(_ path: [String], code: String, message: String) {
        entries.append((path, code, message))
    }

    var json: SimulatorJSON {
        var root: SimulatorJSON = .object([:])
        for entry in entries {
            Self.insert(entry, at: entry.path[...], into: &root)
        }
        return root
    }

    private static func insert(
        _ entry: (path: [String], code: String, message: String), at path: ArraySlice<String>,
        into node: inout SimulatorJSON
    ) {
        guard case .object(var object) = node else { return }
        if let key = path.first {
            var child = object[key] ?? .object([:])
            insert(entry, at: path.dropFirst(), into: &child)
            object[key] = child
        } else {
            var errors = object["_errors"]?.arrayValue ?? []
            errors.append(["code": .string(entry.code), "message": .string(entry.message)])
            object["_errors"] = .array(errors)
        }
        node = .object(object)
    }
}

extension Double {
    func roundedTo(places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}
