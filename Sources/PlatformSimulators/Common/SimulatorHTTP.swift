/// One request as the simulators see it: already read whole, header names lowercased, so the
/// platform code never touches Hummingbird types and can be exercised without a server.
struct SimulatorRequest: Sendable {
    var method: String
    /// The path as sent (still percent-encoded), without the query.
    var path: String
    var query: [FormField]
    /// Lowercased names; repeated headers are joined with ", " as RFC 9110 allows.
    var headers: [String: String]
    var body: [UInt8]
    /// True when the body was larger than the server's read limit and was not read.
    var bodyTooLarge = false

    func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// The media type (lowercased) and its parameters, e.g. `multipart/form-data` + boundary.
    var contentType: HeaderValue? {
        header("content-type").map(HeaderValue.init(parsing:))
    }

    /// Path segments after percent-decoding each one; an empty path gives no segments.
    var pathSegments: [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map {
            FormURLEncoding.percentDecode(Array($0.utf8), plusAsSpace: false)
        }
    }

    func queryValue(_ name: String) -> String? {
        query.last { $0.name == name }?.value
    }
}

struct FormField: Sendable, Equatable {
    var name: String
    var value: String
}

/// A header value of the form `token; name=value; name="quoted value"`.
struct HeaderValue: Sendable, Equatable {
    var value: String
    var parameters: [String: String]

    init(parsing text: String) {
        var parts = Self.splitParameters(text)
        value = parts.isEmpty ? "" : parts.removeFirst().trimmingASCIISpaces().lowercased()
        var parameters: [String: String] = [:]
        for part in parts {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let name = part[..<equals].trimmingASCIISpaces().lowercased()
            var raw = part[part.index(after: equals)...].trimmingASCIISpaces()
            if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") {
                raw = String(raw.dropFirst().dropLast()).replacingBackslashEscapes()
            }
            parameters[name] = raw
        }
        self.parameters = parameters
    }

    /// Splits on `;` outside double quotes (a quoted filename may contain one).
    private static func splitParameters(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inQuotes = false
        var escaped = false
        for character in text {
            if escaped {
                escaped = false
            } else if character == "\\" && inQuotes {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == ";" && !inQuotes {
                parts.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        parts.append(current)
        return parts
    }
}

struct SimulatorResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: Int, _ value: SimulatorJSON, headers: [(String, String)] = []) -> SimulatorResponse {
        SimulatorResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers,
            body: Array(value.jsonString.utf8))
    }

    static func bytes(_ status: Int, contentType: String, _ body: [UInt8]) -> SimulatorResponse {
        SimulatorResponse(status: status, headers: [("Content-Type", contentType)], body: body)
    }

    /// What a reverse proxy in front of the real APIs returns on a 502/503/504: HTML, not JSON,
    /// so clients that assume every error body is JSON get caught.
    static func proxyErrorPage(_ status: Int) -> SimulatorResponse {
        let reason =
            [502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"][status]
            ?? "Server Error"
        let html =
            "<html>\r\n<head><title>\(status) \(reason)</title></head>\r\n<body>\r\n"
            + "<center><h1>\(status) \(reason)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        return .bytes(status, contentType: "text/html", Array(html.utf8))
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }

    func replacingBackslashEscapes() -> String {
        var result = ""
        var escaped = false
        for character in self {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
