/// Telegram's parse_mode=MarkdownV2 and legacy Markdown, following tdlib's parse_markdown_v2 /
/// parse_markdown so that the "must be escaped" errors a client meets in production appear here.
enum TelegramMarkdownParser {
    private struct OpenEntity {
        var type: String
        var argument: String
        var utf16Offset: Int
        var byteOffset: Int
        var outputStart: Int
    }

    private static func fail(_ message: String) -> TelegramAPIError {
        .badRequest("can't parse entities: \(message)")
    }

    /// tdlib names entity types this way in "Can't find end of … entity" errors.
    private static func tdlibName(_ type: String) -> String {
        switch type {
        case "bold": return "Bold"
        case "italic": return "Italic"
        case "underline": return "Underline"
        case "strikethrough": return "Strikethrough"
        case "spoiler": return "Spoiler"
        case "code": return "Code"
        case "pre": return "Pre"
        case "pre_code": return "PreCode"
        case "text_link": return "TextUrl"
        default: return "CustomEmoji"
        }
    }

    static func parseV2(_ source: String) throws(TelegramAPIError) -> FormattedText {
        let text = Array(source.utf8)
        func at(_ index: Int) -> UInt8 { index < text.count ? text[index] : 0 }
        func character(_ byte: UInt8) -> String { String(UnicodeScalar(byte)) }
        let reserved = Set("_*[]()~`>#+-=|{}.!".utf8)
        var output = UTF16CountingBuffer()
        var entities: [TelegramSimulator.Entity] = []
        var open: [OpenEntity] = []
        var quoteStart: Int?
        var i = 0
        while i < text.count {
            let c = text[i]
            // Block quotes: lines that start with '>' (outside other entities).
            if open.isEmpty, i == 0 || text[i - 1] == UInt8(ascii: "\n") {
                if c == UInt8(ascii: ">") {
                    if quoteStart == nil { quoteStart = output.utf16Offset }
                    i += 1
                    continue
                }
                if let start = quoteStart {
                    appendQuote(start: start, end: output.utf16Offset, to: &entities, output: output)
                    quoteStart = nil
                }
            }
            if c == UInt8(ascii: "\\"), at(i + 1) > 0, at(i + 1) <= 126 {
                output.append(byte: at(i + 1))
                i += 2
                continue
            }
            let inCode = open.last.map { ["code", "pre", "pre_code"].contains($0.type) } ?? false
            let isReserved = inCode ? c == UInt8(ascii: "`") : reserved.contains(c)
            if !isReserved {
                output.append(byte: c)
                i += 1
                continue
            }
            let closes: Bool
            switch open.last?.type {
            case "bold"?: closes = c == UInt8(ascii: "*")
            case "italic"?: closes = c == UInt8(ascii: "_") && at(i + 1) != UInt8(ascii: "_")
            case "code"?: closes = c == UInt8(ascii: "`")
            case "pre"?, "pre_code"?:
                closes = c == UInt8(ascii: "`") && at(i + 1) == UInt8(ascii: "`") && at(i + 2) == UInt8(ascii: "`")
            case "text_link"?, "custom_emoji"?: closes = c == UInt8(ascii: "]")
            case "underline"?: closes = c == UInt8(ascii: "_") && at(i + 1) == UInt8(ascii: "_")
            case "strikethrough"?: closes = c == UInt8(ascii: "~")
            case "spoiler"?: closes = c == UInt8(ascii: "|") && at(i + 1) == UInt8(ascii: "|")
            default: closes = false
            }
            if !closes {
                let byteOffset = i
                var type: String
                var argument = ""
                switch c {
                case UInt8(ascii: "_"):
                    if at(i + 1) == UInt8(ascii: "_") {
                        type = "underline"
                        i += 1
                    } else {
                        type = "italic"
                    }
                case UInt8(ascii: "*"): type = "bold"
                case UInt8(ascii: "~"): type = "strikethrough"
                case UInt8(ascii: "|") where at(i + 1) == UInt8(ascii: "|"):
                    type = "spoiler"
                    i += 1
                case UInt8(ascii: "["): type = "text_link"
                case UInt8(ascii: "!") where at(i + 1) == UInt8(ascii: "["):
                    type = "custom_emoji"
                    i += 1
                case UInt8(ascii: "`"):
                    if at(i + 1) == UInt8(ascii: "`") && at(i + 2) == UInt8(ascii: "`") {
                        i += 3
                        type = "pre"
                        var languageEnd = i
                        while ![0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B].contains(at(languageEnd)),
                            at(languageEnd) != UInt8(ascii: "`")
                        {
                            languageEnd += 1
                        }
                        if i != languageEnd, languageEnd < text.count, at(languageEnd) != UInt8(ascii: "`") {
                            type = "pre_code"
                            argument = String(decoding: text[i..<languageEnd], as: UTF8.self)
                            i = languageEnd
                        }
                        // One line break right after the opening fence is not part of the code.
                        if at(i) == UInt8(ascii: "\n") || at(i) == UInt8(ascii: "\r") {
                            let pair =
                                (at(i + 1) == UInt8(ascii: "\n") || at(i + 1) == UInt8(ascii: "\r"))
                                && at(i) != at(i + 1)
                            i += pair ? 2 : 1
                        }
                        i -= 1
                    } else {
                        type = "code"
                    }
                default:
                    throw fail("Character '\(character(c))' is reserved and must be escaped with the preceding '\\'")
                }
                open.append(
                    OpenEntity(
                        type: type, argument: argument, utf16Offset: output.utf16Offset, byteOffset: byteOffset,
                        outputStart: output.bytes.count))
                i += 1
                continue
            }
            guard let current = open.popLast() else { break }
            var skip = output.utf16Offset == current.utf16Offset
            var entity = TelegramSimulator.Entity(
                type: current.type, offset: current.utf16Offset, length: output.utf16Offset - current.utf16Offset)
            switch current.type {
            case "underline", "spoiler": i += 1
            case "pre": i += 2
            case "pre_code":
                i += 2
                entity.type = "pre"
                entity.language = current.argument
            case "text_link":
                var url = String(decoding: output.bytes[current.outputStart...], as: UTF8.self)
                if at(i + 1) == UInt8(ascii: "(") {
                    i += 2
                    let urlStart = i
                    (url, i) = readURL(text, from: i)
                    if at(i) != UInt8(ascii: ")") { throw fail("Can't find end of a URL at byte offset \(urlStart)") }
                }
                if let userID = TelegramLinks.userID(fromLink: url) {
                    entity.type = "text_mention"
                    entity.userID = userID
                } else if let normalized = TelegramLinks.normalize(url) {
                    entity.url = normalized
                } else {
                    skip = true
                }
            case "custom_emoji":
                guard at(i + 1) == UInt8(ascii: "(") else {
                    throw fail("Custom emoji entity must contain a tg://emoji URL")
                }
                i += 2
                let urlStart = i
                let url: String
                (url, i) = readURL(text, from: i)
                if at(i) != UInt8(ascii: ")") {
                    throw fail("Can't find end of a custom emoji URL at byte offset \(urlStart)")
                }
                let prefix = "tg://emoji?id="
                guard url.lowercased().hasPrefix(prefix), let id = Int64(url.dropFirst(prefix.count)), id != 0 else {
                    throw fail("Invalid custom emoji URL specified")
                }
                entity.customEmojiID = String(id)
            default: break
            }
            if !skip { entities.append(entity) }
            i += 1
        }
        if let unclosed = open.last {
            throw fail("Can't find end of \(tdlibName(unclosed.type)) entity at byte offset \(unclosed.byteOffset)")
        }
        if let start = quoteStart { appendQuote(start: start, end: output.utf16Offset, to: &entities, output: output) }
        return EntityNormalizer.normalize(FormattedText(text: output.string, entities: entities))
    }

    /// A quote covers its lines without the line break that ends the last one.
    private static func appendQuote(
        start: Int, end: Int, to entities: inout [TelegramSimulator.Entity], output: UTF16CountingBuffer
    ) {
        var end = end
        if end > start, output.bytes.last == UInt8(ascii: "\n") { end -= 1 }
        if end > start { entities.append(.init(type: "blockquote", offset: start, length: end - start)) }
    }

    /// Reads a link target up to ')' with backslash escapes; returns it and the index of ')'.
    private static func readURL(_ text: [UInt8], from start: Int) -> (String, Int) {
        var bytes: [UInt8] = []
        var i = start
        while i < text.count, text[i] != UInt8(ascii: ")") {
            if text[i] == UInt8(ascii: "\\"), i + 1 < text.count, text[i + 1] > 0, text[i + 1] <= 126 {
                bytes.append(text[i + 1])
                i += 2
                continue
            }
            bytes.append(text[i])
            i += 1
        }
        return (String(decoding: bytes, as: UTF8.self), i)
    }

    /// Legacy Markdown: `*bold*`, `_italic_`, `` `code` ``, ```` ```pre``` ````, `[text](url)`,
    /// no nesting, and '\' escapes only the four markup characters.
    static func parseLegacy(_ source: String) throws(TelegramAPIError) -> FormattedText {
        let text = Array(source.utf8)
        var output = UTF16CountingBuffer()
        var entities: [TelegramSimulator.Entity] = []
        var i = 0
        let markers = Set("_*`[".utf8)
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: "\\"), i + 1 < text.count, markers.contains(text[i + 1]) {
                output.append(byte: text[i + 1])
                i += 2
                continue
            }
            guard markers.contains(c) else {
                output.append(byte: c)
                i += 1
                continue
            }
            let begin = i
            let offset = output.utf16Offset
            var type: String
            var end: UInt8 = c
            var language: String?
            switch c {
            case UInt8(ascii: "_"): type = "italic"
            case UInt8(ascii: "*"): type = "bold"
            case UInt8(ascii: "["):
                type = "text_link"
                end = UInt8(ascii: "]")
            default:
                if text.count - i >= 3, text[i + 1] == UInt8(ascii: "`"), text[i + 2] == UInt8(ascii: "`") {
                    type = "pre"
                    i += 2
                    var languageEnd = i + 1
                    while languageEnd < text.count, ![0x20, 0x0A, UInt8(ascii: "`")].contains(text[languageEnd]) {
                        languageEnd += 1
                    }
                    if languageEnd < text.count, text[languageEnd] == 0x0A, languageEnd > i + 1 {
                        language = String(decoding: text[(i + 1)..<languageEnd], as: UTF8.self)
                        i = languageEnd
                    }
                } else {
                    type = "code"
                }
            }
            i += 1
            var closed = false
            while i < text.count {
                if type == "pre", text.count - i >= 3, text[i] == end, text[i + 1] == end, text[i + 2] == end {
                    i += 3
                    closed = true
                    break
                }
                if type != "pre", text[i] == end {
                    i += 1
                    closed = true
                    break
                }
                output.append(byte: text[i])
                i += 1
            }
            if !closed { throw fail("Can't find end of the entity starting at byte offset \(begin)") }
            var entity = TelegramSimulator.Entity(
                type: type, offset: offset, length: output.utf16Offset - offset, language: language)
            if type == "text_link" {
                guard i < text.count, text[i] == UInt8(ascii: "(") else {
                    throw fail("Can't find end of the entity starting at byte offset \(begin)")
                }
                let (url, close) = readURL(text, from: i + 1)
                guard close < text.count else { throw fail("Can't find end of a URL at byte offset \(i + 1)") }
                i = close + 1
                if let userID = TelegramLinks.userID(fromLink: url) {
                    entity.type = "text_mention"
                    entity.userID = userID
                } else if let normalized = TelegramLinks.normalize(url) {
                    entity.url = normalized
                } else {
                    continue
                }
            }
            if entity.length > 0 { entities.append(entity) }
        }
        return EntityNormalizer.normalize(FormattedText(text: output.string, entities: entities))
    }
}
