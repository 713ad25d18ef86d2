/// The parameters of one Bot API call, merged from the query string and the body
/// (urlencoded, JSON or multipart), as the Bot API server accepts all of them.
struct TelegramParameters: Sendable {
    /// Form and query values arrive as `.string`; JSON bodies keep their types.
    var values: [String: SimulatorJSON] = [:]
    /// Multipart parts that carried a filename, by field name.
    var files: [String: MultipartPart] = [:]

    init(values: [String: SimulatorJSON] = [:], files: [String: MultipartPart] = [:]) {
        self.values = values
        self.files = files
    }

    init(request: SimulatorRequest) throws(TelegramAPIError) {
        for field in request.query { values[field.name] = .string(field.value) }
        guard !request.body.isEmpty, let contentType = request.contentType else { return }
        switch contentType.value {
        case "application/json":
            let json: SimulatorJSON
            do {
                var parser = JSONTextParser(bytes: request.body)
                json = try parser.parseDocument()
            } catch {
                throw .badRequest("can't parse JSON object")
            }
            guard case .object(let object) = json else { throw .badRequest("can't parse JSON object") }
            values.merge(object) { _, body in body }
        case "application/x-www-form-urlencoded":
            for field in FormURLEncoding.parse(request.body) { values[field.name] = .string(field.value) }
        case "multipart/form-data":
            let parts: [MultipartPart]
            do {
                parts = try MultipartFormData.parse(request.body, boundary: contentType.parameters["boundary"] ?? "")
            } catch {
                throw .badRequest("can't parse multipart/form-data: \(error.description)")
            }
            for part in parts {
                if part.isFile {
                    files[part.name] = part
                } else {
                    values[part.name] = .string(part.text)
                }
            }
        default:
            // The Bot API ignores bodies it cannot read; the parameters then look absent.
            break
        }
    }

    /// Text form of a scalar; numbers and booleans in JSON bodies are accepted where strings are.
    func string(_ name: String) -> String? {
        switch values[name] {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        default: return nil
        }
    }

    /// nil when absent or empty; a value that is not an integer is a 400 like the Bot API's.
    func int(_ name: String) throws(TelegramAPIError) -> Int64? {
        switch values[name] {
        case nil, .null: return nil
        case .string(let text):
            let trimmed = text.trimmingASCIISpaces()
            if trimmed.isEmpty { return nil }
            guard let value = Int64(trimmed) else { throw .badRequest("invalid \(name) specified") }
            return value
        case let value?:
            guard let number = value.intValue else { throw .badRequest("invalid \(name) specified") }
            return number
        }
    }

    func bool(_ name: String) -> Bool {
        switch values[name] {
        case .bool(let value): return value
        case .int(let value): return value != 0
        case .string(let text): return ["true", "1", "yes", "on"].contains(text.lowercased())
        default: return false
        }
    }

    /// A JSON-typed parameter: a JSON-serialized string in forms, a nested value in JSON bodies.
    func json(_ name: String) throws(TelegramAPIError) -> SimulatorJSON? {
        switch values[name] {
        case nil, .null: return nil
        case .string(let text):
            if text.isEmpty { return nil }
            do {
                return try SimulatorJSON(parsing: text)
            } catch {
                throw .badRequest("can't parse \(name) JSON object")
            }
        case let value?: return value
        }
    }

    /// chat_id is an integer or "@channelusername".
    func chatIdentifier(_ name: String = "chat_id") throws(TelegramAPIError) -> ChatIdentifier? {
        switch values[name] {
        case nil, .null: return nil
        case .string(let text):
            let trimmed = text.trimmingASCIISpaces()
            if trimmed.isEmpty { return nil }
            if let id = Int64(trimmed) { return .id(id) }
            if trimmed.hasPrefix("@") { return .username(String(trimmed.dropFirst())) }
            throw .chatNotFound
        case let value?:
            guard let id = value.intValue else { throw .chatNotFound }
            return .id(id)
        }
    }

    /// The chat id for failure matching and call records, without failing on bad input.
    var numericChatID: Int64? {
        if case .id(let id)? = try? chatIdentifier() { return id }
        return nil
    }
}

enum ChatIdentifier: Sendable, Equatable {
    case id(Int64)
    case username(String)
}
