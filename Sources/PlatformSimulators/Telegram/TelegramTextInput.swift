/// Turns a text/caption parameter plus parse_mode or an explicit entities list into the
/// FormattedText Telegram would store, with the Bot API's rules: explicit entities win over
/// parse_mode, parse_mode names are case-insensitive, and limits apply after parsing.
enum TelegramTextInput {
    static let knownEntityTypes: Set<String> = [
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold", "italic", "underline",
        "strikethrough", "spoiler", "blockquote", "expandable_blockquote", "code", "pre", "text_link", "text_mention",
        "custom_emoji",
    ]

    static func resolve(
        text: String, parseMode: String?, entities: SimulatorJSON?
    ) throws(TelegramAPIError) -> FormattedText {
        if let entities, case .array(let list) = entities, !list.isEmpty {
            return EntityNormalizer.normalize(
                FormattedText(
                    text: text, entities: try list.map { json throws(TelegramAPIError) in try explicitEntity(json) }))
        }
        if let entities, entities.arrayValue == nil {
            throw .badRequest("can't parse entities: expected an Array of MessageEntity")
        }
        switch parseMode?.lowercased() {
        case nil, "": return EntityNormalizer.normalize(FormattedText(text: text, entities: []))
        case "html": return try TelegramHTMLParser.parse(text)
        case "markdownv2": return try TelegramMarkdownParser.parseV2(text)
        case "markdown": return try TelegramMarkdownParser.parseLegacy(text)
        default: throw .badRequest("unsupported parse_mode")
        }
    }

    /// One MessageEntity object from an `entities`/`caption_entities` parameter.
    static func explicitEntity(_ json: SimulatorJSON) throws(TelegramAPIError) -> TelegramSimulator.Entity {
        func fail(_ message: String) -> TelegramAPIError { .badRequest("can't parse entities: \(message)") }
        guard case .object = json else { throw fail("MessageEntity must be an Object") }
        guard let type = json["type"]?.stringValue else { throw fail("Field \"type\" must be of type String") }
        guard knownEntityTypes.contains(type) else { throw fail("Unsupported type specified") }
        guard let offset = json["offset"]?.intValue else { throw fail("Field \"offset\" must be of type Number") }
        guard let length = json["length"]?.intValue else { throw fail("Field \"length\" must be of type Number") }
        var entity = TelegramSimulator.Entity(type: type, offset: Int(offset), length: Int(length))
        switch type {
        case "text_link":
            guard let url = json["url"]?.stringValue else { throw fail("Field \"url\" must be of type String") }
            guard let normalized = TelegramLinks.normalize(url) else { throw fail("Wrong HTTP URL specified") }
            entity.url = normalized
        case "text_mention":
            guard let id = json["user"]?["id"]?.intValue else { throw fail("Field \"user\" must be of type Object") }
            entity.userID = id
        case "pre":
            entity.language = json["language"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        case "custom_emoji":
            guard let id = json["custom_emoji_id"]?.stringValue, Int64(id) != nil else {
                throw fail("Field \"custom_emoji_id\" must be of type String")
            }
            entity.customEmojiID = id
        default: break
        }
        return entity
    }

    static func entityJSON(_ entity: TelegramSimulator.Entity) -> SimulatorJSON {
        var object: [String: SimulatorJSON] = [
            "type": .string(entity.type), "offset": .int(Int64(entity.offset)), "length": .int(Int64(entity.length)),
        ]
        if let url = entity.url { object["url"] = .string(url) }
        if let language = entity.language { object["language"] = .string(language) }
        if let userID = entity.userID {
            object["user"] = ["id": .int(userID), "is_bot": false, "first_name": .string("User \(userID)")]
        }
        if let customEmojiID = entity.customEmojiID { object["custom_emoji_id"] = .string(customEmojiID) }
        return .object(object)
    }
}
