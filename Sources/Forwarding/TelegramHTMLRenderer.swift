/// Renders a message to Telegram's HTML parse mode (`parse_mode=HTML`).
public enum TelegramHTML {
    /// HTML for `text` formatted by `entities` (UTF-16 offsets).
    ///
    /// Auto-detected kinds (url, email, mention, hashtag, cashtag, bot command, phone number) are
    /// emitted as plain text because Telegram detects them again. Overlapping entities are closed
    /// and reopened so the tags always nest; entities Telegram cannot nest (anything inside code,
    /// pre or a custom emoji, a quote in a quote, a link in a link) are left out where they would nest.
    public static func render(_ text: String, entities: [MessageEntity]) -> String {
        let units = UTF16Text.units(text)
        let tagged = EntityNormalization.normalized(entities, in: units).filter { openTag(for: $0) != nil }
        var html = ""
        html.reserveCapacity(units.count + tagged.count * 16)
        for event in EntityNesting.events(count: units.count, entities: tagged) {
            switch event {
            case .open(let entity, _):
                html += openTag(for: entity) ?? ""
            case .close(let entity, _):
                html += closeTag(for: entity)
            case .text(let range):
                html += escape(UTF16Text.string(units[range]))
            }
        }
        return html
    }

    /// Escapes text content: `&`, `<` and `>` become entities, everything else stays.
    public static func escape(_ text: String) -> String {
        escape(text, quotes: false)
    }

    /// Escapes an attribute value, which additionally needs `"` escaped.
    static func escapeAttribute(_ value: String) -> String {
        escape(value, quotes: true)
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// nil for entities that produce no markup (auto-detected kinds, or links missing their target).
    private static func openTag(for entity: MessageEntity) -> String? {
        switch entity.kind {
        case .bold: "<b>"
        case .italic: "<i>"
        case .underline: "<u>"
        case .strikethrough: "<s>"
        case .spoiler: "<span class=\"tg-spoiler\">"
        case .code: "<code>"
        case .pre:
            if let language = entity.language, !language.isEmpty {
                "<pre><code class=\"language-\(escapeAttribute(language))\">"
            } else {
                "<pre>"
            }
        case .textLink: entity.url.map { "<a href=\"\(escapeAttribute($0))\">" }
        case .textMention: entity.userID.map { "<a href=\"tg://user?id=\($0)\">" }
        case .blockquote: "<blockquote>"
        case .expandableBlockquote: "<blockquote expandable>"
        case .customEmoji: entity.customEmojiID.map { "<tg-emoji emoji-id=\"\(escapeAttribute($0))\">" }
        case .url, .email, .phoneNumber, .mention, .hashtag, .cashtag, .botCommand: nil
        }
    }

    private static func closeTag(for entity: MessageEntity) -> String {
        switch entity.kind {
        case .bold: "</b>"
        case .italic: "</i>"
        case .underline: "</u>"
        case .strikethrough: "</s>"
        case .spoiler: "</span>"
        case .code: "</code>"
        case .pre: (entity.language ?? "").isEmpty ? "</pre>" : "</code></pre>"
        case .textLink, .textMention: "</a>"
        case .blockquote, .expandableBlockquote: "</blockquote>"
        case .customEmoji: "</tg-emoji>"
        case .url, .email, .phoneNumber, .mention, .hashtag, .cashtag, .botCommand: ""
        }
    }
}
