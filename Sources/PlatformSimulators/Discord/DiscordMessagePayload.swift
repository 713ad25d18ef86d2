/// A file part of a multipart message request.
struct DiscordUpload: Sendable {
    /// n of the `files[n]` field, which attachments[].id refers to.
    var index: Int
    var filename: String
    var contentType: String?
    var bytes: [UInt8]
}

/// The body of a create/edit/execute request, read from JSON or from multipart/form-data
/// (`payload_json` plus `files[n]` parts, or plain form fields), then checked field by field the
/// way Discord does, collecting every problem into one "Invalid Form Body".
struct DiscordMessagePayload: Sendable {
    var fields: [String: SimulatorJSON] = [:]
    var uploads: [DiscordUpload] = []

    init(request: SimulatorRequest) throws(DiscordAPIError) {
        guard !request.body.isEmpty, let contentType = request.contentType else { return }
        switch contentType.value {
        case "application/json":
            fields = try Self.parseObject(request.body)
        case "multipart/form-data":
            let parts: [MultipartPart]
            do {
                parts = try MultipartFormData.parse(request.body, boundary: contentType.parameters["boundary"] ?? "")
            } catch {
                throw .json(400, code: 50035, message: "Invalid Form Body")
            }
            for part in parts {
                if part.isFile {
                    let index = Self.fileIndex(part.name) ?? uploads.count
                    uploads.append(
                        DiscordUpload(
                            index: index, filename: part.filename.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown",
                            contentType: part.contentType, bytes: part.body))
                } else if part.name == "payload_json" {
                    fields.merge(try Self.parseObject(part.body)) { _, new in new }
                } else {
                    fields[part.name] = .string(part.text)
                }
            }
        case "application/x-www-form-urlencoded":
            for field in FormURLEncoding.parse(request.body) { fields[field.name] = .string(field.value) }
        default:
            break
        }
        for upload in uploads where upload.bytes.count > DiscordSimulator.maxFileSize {
            throw .entityTooLarge
        }
    }

    private static func parseObject(_ bytes: [UInt8]) throws(DiscordAPIError) -> [String: SimulatorJSON] {
        var parser = JSONTextParser(bytes: bytes)
        guard let json = try? parser.parseDocument(), case .object(let object) = json else { throw .badJSON }
        return object
    }

    /// "files[3]" → 3; legacy "file" and other names get the next free index.
    private static func fileIndex(_ name: String) -> Int? {
        guard name.hasPrefix("files["), name.hasSuffix("]") else { return nil }
        return Int(name.dropFirst("files[".count).dropLast())
    }

    // MARK: Field access and validation

    /// Whether the client sent the field at all (PATCH leaves absent fields unchanged).
    func has(_ name: String) -> Bool { fields[name] != nil }

    func bool(_ name: String) -> Bool {
        switch fields[name] {
        case .bool(let value): return value
        case .string(let text): return text.lowercased() == "true"
        case .int(let value): return value != 0
        default: return false
        }
    }

    /// Checks every field Discord validates and returns the problems (empty when fine).
    func validate(isWebhook: Bool) -> DiscordFormErrors {
        var errors = DiscordFormErrors()
        switch fields["content"] {
        case nil, .null: break
        case .string(let content):
            // Discord counts code points, not UTF-16 units or grapheme clusters.
            if content.unicodeScalars.count > 2000 {
                errors.add(["content"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length.")
            }
        default:
            errors.add(["content"], code: "BASE_TYPE_STRING", message: "Must be a string.")
        }
        switch fields["nonce"] {
        case nil, .null, .int: break
        case .string(let nonce):
            if nonce.count > 25 {
                errors.add(["nonce"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 25 or fewer in length.")
            }
        default:
            errors.add(["nonce"], code: "NONCE_TYPE_INVALID", message: "Nonce must be a string or an integer.")
        }
        validateEmbeds(into: &errors)
        validateAllowedMentions(into: &errors)
        if let reference = fields["message_reference"], !reference.isNull {
            if reference.objectValue == nil {
                errors.add(
                    ["message_reference"], code: "MODEL_TYPE_CONVERT",
                    message: "Only dictionaries may be used in a ModelType")
            } else if reference["message_id"].flatMap(Self.snowflake) == nil {
                errors.add(
                    ["message_reference", "message_id"], code: "BASE_TYPE_REQUIRED", message: "This field is required")
            }
        }
        if let stickers = fields["sticker_ids"], let list = stickers.arrayValue, list.count > 3 {
            errors.add(["sticker_ids"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 3 or fewer in length.")
        }
        if isWebhook, let username = fields["username"], !username.isNull {
            let name = username.stringValue ?? ""
            if !(1...80).contains(name.count) {
                errors.add(["username"], code: "BASE_TYPE_BAD_LENGTH", message: "Must be between 1 and 80 in length.")
            }
            for forbidden in ["clyde", "discord"] where name.lowercased().contains(forbidden) {
                errors.add(
                    ["username"], code: "USERNAME_INVALID_CONTAINS", message: "Username cannot contain \"\(forbidden)\""
                )
            }
        }
        return errors
    }

    private func validateEmbeds(into errors: inout DiscordFormErrors) {
        guard let embeds = fields["embeds"], !embeds.isNull else { return }
        guard let list = embeds.arrayValue else {
            errors.add(["embeds"], code: "BASE_TYPE_ARRAY", message: "Must be an array.")
            return
        }
        if list.count > 10 {
            errors.add(["embeds"], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 10 or fewer in length.")
        }
        var total = 0
        let limits: [(path: [String], max: Int)] = [
            (["title"], 256), (["description"], 4096), (["footer", "text"], 2048), (["author", "name"], 256),
        ]
        for (index, embed) in list.enumerated() {
            guard embed.objectValue != nil else {
                errors.add(
                    ["embeds", String(index)], code: "MODEL_TYPE_CONVERT",
                    message: "Only dictionaries may be used in a ModelType")
                continue
            }
            for limit in limits {
                var value: SimulatorJSON? = embed
                for key in limit.path { value = value?[key] }
                guard let text = value?.stringValue else { continue }
                total += text.count
                if text.count > limit.max {
                    errors.add(
                        ["embeds", String(index)] + limit.path, code: "BASE_TYPE_MAX_LENGTH",
                        message: "Must be \(limit.max) or fewer in length.")
                }
            }
            let embedFields = embed["fields"]?.arrayValue ?? []
            if embedFields.count > 25 {
                errors.add(
                    ["embeds", String(index), "fields"], code: "BASE_TYPE_MAX_LENGTH",
                    message: "Must be 25 or fewer in length.")
            }
            for field in embedFields {
                total += (field["name"]?.stringValue?.count ?? 0) + (field["value"]?.stringValue?.count ?? 0)
            }
        }
        if total > 6000 {
            errors.add(["embeds"], code: "MAX_EMBED_SIZE_EXCEEDED", message: "Embed size exceeds maximum size of 6000")
        }
    }

    private func validateAllowedMentions(into errors: inout DiscordFormErrors) {
        guard let mentions = fields["allowed_mentions"], !mentions.isNull else { return }
        guard mentions.objectValue != nil else {
            errors.add(
                ["allowed_mentions"], code: "MODEL_TYPE_CONVERT",
                message: "Only dictionaries may be used in a ModelType")
            return
        }
        let parse = (mentions["parse"]?.arrayValue ?? []).compactMap(\.stringValue)
        for (index, value) in parse.enumerated() where !["users", "roles", "everyone"].contains(value) {
            errors.add(
                ["allowed_mentions", "parse", String(index)], code: "ENUM_TYPE_COERCE",
                message: "Value \"\(value)\" is not a valid enum value.")
        }
        for kind in ["users", "roles"] {
            let ids = (mentions[kind]?.arrayValue ?? []).compactMap(Self.snowflake)
            if parse.contains(kind) && !ids.isEmpty {
                let list = ids.map { "\"\($0)\"" }.joined(separator: ", ")
                errors.add(
                    ["allowed_mentions"], code: "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    message: "parse:[\"\(kind)\"] and \(kind): [\(list)] are mutually exclusive.")
            }
            if ids.count > 100 {
                errors.add(
                    ["allowed_mentions", kind], code: "BASE_TYPE_MAX_LENGTH", message: "Must be 100 or fewer in length."
                )
            }
        }
    }

    /// Snowflakes are strings in JSON, but Discord also accepts integers.
    static func snowflake(_ value: SimulatorJSON) -> String? {
        if let text = value.stringValue, !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) { return text }
        if let number = value.intValue, number >= 0 { return String(number) }
        return nil
    }
}
