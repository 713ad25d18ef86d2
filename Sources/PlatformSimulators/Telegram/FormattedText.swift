/// Text plus entities, the result of parsing a message's text or caption.
struct FormattedText: Sendable, Equatable {
    var text: String
    var entities: [TelegramSimulator.Entity]
}

/// Accumulates UTF-8 output while counting UTF-16 code units, the unit Bot API offsets use.
struct UTF16CountingBuffer {
    var bytes: [UInt8] = []
    var utf16Offset = 0

    mutating func append(byte: UInt8) {
        bytes.append(byte)
        // Every byte that starts a character adds one unit; 4-byte characters are surrogate pairs.
        if byte & 0xC0 != 0x80 { utf16Offset += byte >= 0xF0 ? 2 : 1 }
    }

    mutating func append(scalar: Unicode.Scalar) {
        bytes.append(contentsOf: Array(String(scalar).utf8))
        utf16Offset += scalar.value > 0xFFFF ? 2 : 1
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// The clean-up Telegram applies after parsing (tdlib's fix_formatted_text, in the parts a
/// bot can observe): entities are clipped to the text, empty ones dropped, entities inside
/// code/pre dropped, duplicates nested in their own kind dropped, surrounding whitespace trimmed,
/// and the list sorted outer-first.
enum EntityNormalizer {
    /// Lower sorts first among entities with the same range (tdlib's type priorities).
    static func priority(_ type: String) -> Int {
        switch type {
        case "blockquote", "expandable_blockquote": return 0
        case "pre": return 11
        case "code": return 20
        case "text_link", "text_mention": return 49
        case "bold": return 90
        case "italic": return 91
        case "underline": return 92
        case "strikethrough": return 93
        case "spoiler": return 94
        case "custom_emoji": return 99
        default: return 50
        }
    }

    static func sorted(_ entities: [TelegramSimulator.Entity]) -> [TelegramSimulator.Entity] {
        entities.sorted { left, right in
            if left.offset != right.offset { return left.offset < right.offset }
            if left.length != right.length { return left.length > right.length }
            return priority(left.type) < priority(right.type)
        }
    }

    static func normalize(_ input: FormattedText) -> FormattedText {
        let units = Array(input.text.utf16)
        var entities = input.entities.compactMap { entity -> TelegramSimulator.Entity? in
            var entity = entity
            let start = max(0, entity.offset)
            let end = min(units.count, entity.offset + entity.length)
            guard end > start else { return nil }
            entity.offset = start
            entity.length = end - start
            return entity
        }
        entities = sorted(entities)
        entities = dropNested(entities)

        // Trim whitespace at both ends and shift the entities with the text.
        let isSpace: (UInt16) -> Bool = { [0x20, 0x0A, 0x09, 0x0D, 0x0B, 0x0C].contains($0) }
        var lower = 0
        var upper = units.count
        while lower < upper, isSpace(units[lower]) { lower += 1 }
        while upper > lower, isSpace(units[upper - 1]) { upper -= 1 }
        if lower == 0 && upper == units.count { return FormattedText(text: input.text, entities: entities) }
        let text = String(decoding: units[lower..<upper], as: UTF16.self)
        entities = entities.compactMap { entity in
            var entity = entity
            let start = max(entity.offset, lower)
            let end = min(entity.offset + entity.length, upper)
            guard end > start else { return nil }
            entity.offset = start - lower
            entity.length = end - start
            return entity
        }
        return FormattedText(text: text, entities: entities)
    }

    /// Entities may not live inside code or pre, blockquotes do not nest, and an entity nested
    /// in one of its own type adds nothing; Telegram drops all three.
    private static func dropNested(_ entities: [TelegramSimulator.Entity]) -> [TelegramSimulator.Entity] {
        var kept: [TelegramSimulator.Entity] = []
        for entity in entities {
            let contained = kept.contains { outer in
                guard outer.offset <= entity.offset, entity.offset + entity.length <= outer.offset + outer.length
                else { return false }
                if outer.type == "code" || outer.type == "pre" { return true }
                if isBlockquote(outer.type) && isBlockquote(entity.type) { return true }
                return outer.type == entity.type && outer.url == entity.url
            }
            if !contained { kept.append(entity) }
        }
        return kept
    }

    private static func isBlockquote(_ type: String) -> Bool {
        type == "blockquote" || type == "expandable_blockquote"
    }
}

/// URL checks for text links, after tdlib's LinkManager: a missing scheme means http, only
/// web and tg/ton links are accepted, and anything else silently loses its entity.
enum TelegramLinks {
    static func userID(fromLink url: String) -> Int64? {
        let lower = url.lowercased()
        for prefix in ["tg://user?id=", "tg:user?id="] where lower.hasPrefix(prefix) {
            let digits = url.dropFirst(prefix.count).prefix { $0.isASCII && $0.isNumber }
            if let id = Int64(digits), id > 0 { return id }
        }
        return nil
    }

    static func normalize(_ raw: String) -> String? {
        let url = raw.trimmingASCIISpaces()
        guard !url.isEmpty, !url.contains(where: { $0 == " " || $0 == "\n" || $0 == "\t" }) else { return nil }
        if let schemeEnd = url.range(of: ":") {
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            let isScheme =
                !scheme.isEmpty
                && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
            if isScheme {
                guard ["http", "https", "tg", "ton"].contains(scheme) else { return nil }
                let rest = url[schemeEnd.upperBound...]
                if scheme == "http" || scheme == "https" {
                    guard rest.hasPrefix("//"), rest.count > 2 else { return nil }
                }
                return scheme + ":" + rest
            }
        }
        // "example.com/path" (or "host:port") is a web link without a scheme.
        guard url.contains("."), !url.hasPrefix(".") else { return nil }
        return "http://" + url
    }
}
