/// Telegram's parse_mode=HTML, following tdlib's parse_html so that errors, entity types and
/// offsets match what the real Bot API answers. Notable real behaviours kept on purpose:
/// unknown or unterminated `&…` sequences stay literal text (no error), `&lt` works without
/// the semicolon, tag and attribute names are case-insensitive, `</>` closes the open tag, and
/// an `<a>` whose href is not an acceptable link keeps its text but produces no entity.
enum TelegramHTMLParser {
    static let supportedTags: Set<String> = [
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji", "span", "pre",
        "code", "blockquote",
    ]

    private struct OpenTag {
        var name: String
        var argument: String
        var expandable: Bool
        var utf16Offset: Int
        var byteOffset: Int
    }

    static func parse(_ html: String) throws(TelegramAPIError) -> FormattedText {
        let text = Array(html.utf8)
        // tdlib reads a NUL-terminated string; reading past the end as 0 keeps the port literal.
        func at(_ index: Int) -> UInt8 { index < text.count ? text[index] : 0 }
        func isSpace(_ byte: UInt8) -> Bool { [0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B].contains(byte) }
        func fail(_ message: String) -> TelegramAPIError { .badRequest("can't parse entities: \(message)") }

        var output = UTF16CountingBuffer()
        var entities: [TelegramSimulator.Entity] = []
        var open: [OpenTag] = []
        var i = 0
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: "&") {
                var position = i
                if let scalar = decodeEntity(text, &position) {
                    output.append(scalar: scalar)
                    i = position
                    continue
                }
            }
            if c != UInt8(ascii: "<") {
                output.append(byte: c)
                i += 1
                continue
            }
            let tagStart = i
            i += 1
            if at(i) != UInt8(ascii: "/") {
                let nameStart = i
                while !isSpace(at(i)) && at(i) != UInt8(ascii: ">") { i += 1 }
                if at(i) == 0 { throw fail("Unclosed start tag at byte offset \(tagStart)") }
                let name = String(decoding: text[nameStart..<i], as: UTF8.self).lowercased()
                guard supportedTags.contains(name) else {
                    throw fail("Unsupported start tag \"\(name)\" at byte offset \(tagStart)")
                }
                var argument = ""
                var expandable = false
                while at(i) != UInt8(ascii: ">") {
                    while at(i) != 0 && isSpace(at(i)) { i += 1 }
                    if at(i) == UInt8(ascii: ">") { break }
                    let attributeStart = i
                    while !isSpace(at(i)) && at(i) != UInt8(ascii: "=") && at(i) != UInt8(ascii: ">") { i += 1 }
                    let attribute = String(decoding: text[attributeStart..<i], as: UTF8.self).lowercased()
                    if attribute.isEmpty {
                        throw fail("Empty attribute name in the tag \"\(name)\" at byte offset \(tagStart)")
                    }
                    while at(i) != 0 && isSpace(at(i)) { i += 1 }
                    if at(i) != UInt8(ascii: "=") {
                        if name == "blockquote" && attribute == "expandable" {
                            expandable = true
                            continue
                        }
                        throw fail(
                            "Expected equal sign in declaration of an attribute of the tag \"\(name)\" at byte offset \(tagStart)"
                        )
                    }
                    i += 1
                    while at(i) != 0 && isSpace(at(i)) { i += 1 }
                    if at(i) == 0 { throw fail("Unclosed start tag \"\(name)\" at byte offset \(tagStart)") }
                    var value = UTF16CountingBuffer()
                    if at(i) != UInt8(ascii: "'") && at(i) != UInt8(ascii: "\"") {
                        // An unquoted value is an HTML name token: letters, digits, '.', '-'.
                        let tokenStart = i
                        while isNameTokenByte(at(i)) { i += 1 }
                        for byte in String(decoding: text[tokenStart..<i], as: UTF8.self).lowercased().utf8 {
                            value.append(byte: byte)
                        }
                        if !isSpace(at(i)) && at(i) != UInt8(ascii: ">") {
                            throw fail("Unexpected end of name token at byte offset \(tokenStart)")
                        }
                    } else {
                        let quote = at(i)
                        i += 1
                        while at(i) != quote && at(i) != 0 {
                            if at(i) == UInt8(ascii: "&") {
                                var position = i
                                if let scalar = decodeEntity(text, &position) {
                                    value.append(scalar: scalar)
                                    i = position
                                    continue
                                }
                            }
                            value.append(byte: at(i))
                            i += 1
                        }
                        if at(i) == quote { i += 1 }
                    }
                    if at(i) == 0 { throw fail("Unclosed start tag at byte offset \(tagStart)") }
                    let attributeValue = value.string
                    if name == "a" && attribute == "href" {
                        argument = attributeValue
                    } else if name == "code" && attribute == "class" && attributeValue.hasPrefix("language-") {
                        argument = String(attributeValue.dropFirst("language-".count))
                    } else if name == "span" && attribute == "class" && attributeValue.hasPrefix("tg-") {
                        argument = String(attributeValue.dropFirst(3))
                    } else if name == "tg-emoji" && attribute == "emoji-id" {
                        argument = attributeValue
                    }
                }
                if name == "span" && argument != "spoiler" {
                    throw fail("Tag \"span\" must have class \"tg-spoiler\" at byte offset \(tagStart)")
                }
                open.append(
                    OpenTag(
                        name: name, argument: argument, expandable: expandable, utf16Offset: output.utf16Offset,
                        byteOffset: output.bytes.count))
                i += 1  // past '>'
                continue
            }

            // A closing tag.
            guard let current = open.last else { throw fail("Unexpected end tag at byte offset \(tagStart)") }
            i += 1
            let nameStart = i
            while !isSpace(at(i)) && at(i) != UInt8(ascii: ">") { i += 1 }
            if at(i) == 0 { throw fail("Unclosed end tag at byte offset \(tagStart)") }
            let endName = String(decoding: text[nameStart..<i], as: UTF8.self).lowercased()
            while at(i) != 0 && isSpace(at(i)) { i += 1 }
            if at(i) != UInt8(ascii: ">") { throw fail("Unclosed end tag at byte offset \(tagStart)") }
            if !endName.isEmpty && endName != current.name {
                throw fail(
                    "Unmatched end tag at byte offset \(tagStart), expected \"</\(current.name)>\", found \"</\(endName)>\""
                )
            }
            i += 1
            open.removeLast()
            let length = output.utf16Offset - current.utf16Offset
            guard length > 0 else { continue }
            if let entity = try makeEntity(
                current, length: length,
                innerText: String(decoding: output.bytes[current.byteOffset...], as: UTF8.self),
                previous: &entities, fail: fail)
            {
                entities.append(entity)
            }
        }
        if let unclosed = open.last {
            throw fail("Can't find end tag corresponding to start tag \"\(unclosed.name)\"")
        }
        // A language only survives on a pre; a bare <code class="language-x"> is plain code.
        for index in entities.indices where entities[index].type == "code" { entities[index].language = nil }
        return EntityNormalizer.normalize(FormattedText(text: output.string, entities: entities))
    }

    /// The entity for a closed tag, or nil when the tag merged into the previous entity (a
    /// `<pre><code class>` pair becomes one pre with a language) or produces none (bad link).
    private static func makeEntity(
        _ tag: OpenTag, length: Int, innerText: String, previous entities: inout [TelegramSimulator.Entity],
        fail: (String) -> TelegramAPIError
    ) throws(TelegramAPIError) -> TelegramSimulator.Entity? {
        let offset = tag.utf16Offset
        func simple(_ type: String) -> TelegramSimulator.Entity {
            TelegramSimulator.Entity(type: type, offset: offset, length: length)
        }
        switch tag.name {
        case "b", "strong": return simple("bold")
        case "i", "em": return simple("italic")
        case "u", "ins": return simple("underline")
        case "s", "strike", "del": return simple("strikethrough")
        case "tg-spoiler", "span": return simple("spoiler")
        case "blockquote": return simple(tag.expandable ? "expandable_blockquote" : "blockquote")
        case "tg-emoji":
            guard let id = Int64(tag.argument), id != 0 else { throw fail("Invalid custom emoji identifier specified") }
            return TelegramSimulator.Entity(
                type: "custom_emoji", offset: offset, length: length, customEmojiID: String(id))
        case "a":
            let url = tag.argument.isEmpty ? innerText : tag.argument
            if let userID = TelegramLinks.userID(fromLink: url) {
                return TelegramSimulator.Entity(type: "text_mention", offset: offset, length: length, userID: userID)
            }
            guard let normalized = TelegramLinks.normalize(url) else { return nil }
            return TelegramSimulator.Entity(type: "text_link", offset: offset, length: length, url: normalized)
        case "pre":
            if let last = entities.last, last.type == "code", last.offset == offset, last.length == length,
                last.language != nil
            {
                entities[entities.count - 1].type = "pre"
                return nil
            }
            return simple("pre")
        case "code":
            if let last = entities.last, last.type == "pre", last.offset == offset, last.length == length,
                !tag.argument.isEmpty
            {
                entities[entities.count - 1].language = tag.argument
                return nil
            }
            var entity = simple("code")
            // Kept so an enclosing <pre> can pick it up; a bare <code class> has no language.
            if !tag.argument.isEmpty { entity.language = tag.argument }
            return entity
        default:
            return nil
        }
    }

    private static func isNameTokenByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "-")
    }

    /// Decodes `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&#NN;` and `&#xNN;` at `position` (the
    /// semicolon is optional, as in tdlib) and moves `position` past it; nil leaves it literal.
    static func decodeEntity(_ text: [UInt8], _ position: inout Int) -> Unicode.Scalar? {
        func at(_ index: Int) -> UInt8 { index < text.count ? text[index] : 0 }
        var end = position + 1
        var value: UInt32 = 0
        if at(end) == UInt8(ascii: "#") {
            end += 1
            if at(end) == UInt8(ascii: "x") || at(end) == UInt8(ascii: "X") {
                end += 1
                while let digit = hexValue(at(end)) {
                    value = value * 16 + digit
                    end += 1
                    if value >= 0x10FFFF { return nil }
                }
            } else {
                while (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(at(end)) {
                    value = value * 10 + UInt32(at(end) - UInt8(ascii: "0"))
                    end += 1
                    if value >= 0x10FFFF { return nil }
                }
            }
            if value == 0 || end - position >= 10 { return nil }
        } else {
            let nameStart = end
            while (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(at(end))
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(at(end))
            {
                end += 1
            }
            switch String(decoding: text[min(nameStart, text.count)..<min(end, text.count)], as: UTF8.self) {
            case "lt": value = 0x3C
            case "gt": value = 0x3E
            case "amp": value = 0x26
            case "quot": value = 0x22
            default: return nil
            }
        }
        guard let scalar = Unicode.Scalar(value) else { return nil }
        position = at(end) == UInt8(ascii: ";") ? end + 1 : end
        return scalar
    }
}
