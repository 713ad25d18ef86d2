extension DiscordMarkdown {
    /// Parses Discord markdown into plain text and entities (UTF-16 offsets into the returned text).
    ///
    /// Recognised: `**bold**`, `*italic*`/`_italic_`, `__underline__`, `~~strike~~`, `||spoiler||`,
    /// inline code (any backtick count), fenced code blocks with a language, `> ` and `>>> ` quotes,
    /// masked links to http(s) URLs, backslash escapes. `<@id>`, `<@!id>`, `<@&id>`, `<#id>` and
    /// `<t:...>` stay in the text (see `mentions(in:)`); custom emoji `<:name:id>` become `:name:`;
    /// `<https://...>` loses its brackets. Headings and lists stay as literal text.
    public static func parse(_ markdown: String) -> (text: String, entities: [MessageEntity]) {
        var parser = DiscordMarkdownParser(input: UTF16Text.units(markdown))
        parser.parse(0..<parser.input.count, inQuote: false)
        return (UTF16Text.string(parser.output), parser.sortedEntities())
    }
}

/// A hand-written emulation of Discord's (simple-markdown based) inline rules: each construct is
/// matched at the current position with the first closer after it, like the lazy regexes Discord
/// uses, and its content is parsed recursively.
struct DiscordMarkdownParser {
    let input: [UInt16]
    var output: [UInt16] = []
    var entities: [MessageEntity] = []

    init(input: [UInt16]) {
        self.input = input
    }

    /// By position, outer first. A span is appended after the spans inside it, so between equal
    /// ranges the later one is the outer.
    func sortedEntities() -> [MessageEntity] {
        entities.enumerated().sorted { a, b in
            if a.element.offset != b.element.offset { return a.element.offset < b.element.offset }
            if a.element.length != b.element.length { return a.element.length > b.element.length }
            return a.offset > b.offset
        }.map(\.element)
    }

    mutating func parse(_ range: Range<Int>, inQuote: Bool) {
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            if !inQuote, isLineStart(index), let next = quote(at: index, end: end) {
                index = next
                continue
            }
            if let next = construct(at: index, end: end, inQuote: inQuote) {
                index = next
                continue
            }
            output.append(input[index])
            index += 1
        }
    }

    private func isLineStart(_ index: Int) -> Bool {
        index == 0 || input[index - 1] == Unit.newline
    }

    /// Tries every inline construct at `index`; returns the index after it when one matched.
    private mutating func construct(at index: Int, end: Int, inQuote: Bool) -> Int? {
        let unit = input[index]
        let next = index + 1 < end ? input[index + 1] : nil
        switch unit {
        case Unit.backslash:
            guard let escaped = next, !UTF16Text.isASCIIAlphanumeric(escaped), !UTF16Text.isWhitespace(escaped)
            else { return nil }
            output.append(escaped)
            return index + 2
        case Unit.backtick:
            return codeBlock(at: index, end: end) ?? inlineCode(at: index, end: end)
        case 0x68:  // "h"
            guard let urlEnd = DiscordSyntax.bareURLEnd(at: index, in: input, end: end) else { return nil }
            output.append(contentsOf: input[index..<urlEnd])
            return urlEnd
        case Unit.lessThan:
            return angleToken(at: index, end: end)
        case Unit.at:
            guard let ping = DiscordSyntax.massPing(at: index, in: input, end: end), ping.zeroWidthSpaces > 0 else {
                return nil
            }
            // The escaper added one zero-width space; drop exactly that one.
            output.append(Unit.at)
            output.append(contentsOf: input[(index + 2)..<(index + ping.length)])
            return index + ping.length
        case Unit.asterisk:
            if next == Unit.asterisk, let result = delimited(.bold, at: index, end: end, inQuote: inQuote) {
                return result
            }
            return italicStar(at: index, end: end, inQuote: inQuote)
        case Unit.underscore:
            if next == Unit.underscore, let result = delimited(.underline, at: index, end: end, inQuote: inQuote) {
                return result
            }
            return italicUnderscore(at: index, end: end, inQuote: inQuote)
        case Unit.tilde where next == Unit.tilde:
            return delimited(.strikethrough, at: index, end: end, inQuote: inQuote)
        case Unit.pipe where next == Unit.pipe:
            return delimited(.spoiler, at: index, end: end, inQuote: inQuote)
        case Unit.openBracket:
            return maskedLink(at: index, end: end, inQuote: inQuote)
        default:
            return nil
        }
    }

    // MARK: Paired delimiters

    /// `**x**`, `__x__`, `~~x~~`, `||x||`: content up to the first closer (escapes skipped).
    private mutating func delimited(_ kind: MessageEntity.Kind, at index: Int, end: Int, inQuote: Bool) -> Int? {
        let mark = input[index]
        let contentStart = index + 2
        // `~~(?=\S)`: strikethrough content may not start with a space.
        if kind == .strikethrough, contentStart >= end || UTF16Text.isWhitespace(input[contentStart]) { return nil }
        var cursor = contentStart
        while cursor + 1 < end {
            if input[cursor] == Unit.backslash {
                cursor += 2
                continue
            }
            if cursor > contentStart, input[cursor] == mark, input[cursor + 1] == mark,
                closes(kind, at: cursor, end: end)
            {
                wrap(kind, content: contentStart..<cursor, inQuote: inQuote)
                return cursor + 2
            }
            cursor += 1
        }
        return nil
    }

    private func closes(_ kind: MessageEntity.Kind, at cursor: Int, end: Int) -> Bool {
        switch kind {
        case .bold, .underline:
            // `\*\*(?!\*)`: in `***x***` the closer is the last two stars.
            return cursor + 2 >= end || input[cursor + 2] != input[cursor]
        case .strikethrough:
            // `...\S~~`: no space just before the closer.
            return !UTF16Text.isWhitespace(input[cursor - 1])
        default:
            return true
        }
    }

    /// `*x*`: no space after the opener or before the closer; `**` inside is nested bold.
    private mutating func italicStar(at index: Int, end: Int, inQuote: Bool) -> Int? {
        let contentStart = index + 1
        guard contentStart < end, !UTF16Text.isWhitespace(input[contentStart]) else { return nil }
        var cursor = contentStart
        while cursor < end {
            let unit = input[cursor]
            if unit == Unit.backslash {
                cursor += 2
                continue
            }
            if unit == Unit.asterisk {
                if cursor + 1 < end, input[cursor + 1] == Unit.asterisk {
                    cursor += 2
                    continue
                }
                guard cursor > contentStart, !UTF16Text.isWhitespace(input[cursor - 1]) else { return nil }
                wrap(.italic, content: contentStart..<cursor, inQuote: inQuote)
                return cursor + 1
            }
            cursor += 1
        }
        return nil
    }

    /// `_x_`: the closer must not be followed by a word character; `__` inside is nested underline.
    private mutating func italicUnderscore(at index: Int, end: Int, inQuote: Bool) -> Int? {
        let contentStart = index + 1
        var cursor = contentStart
        while cursor < end {
            let unit = input[cursor]
            if unit == Unit.backslash {
                cursor += 2
                continue
            }
            if unit == Unit.underscore {
                if cursor + 1 < end, input[cursor + 1] == Unit.underscore {
                    cursor += 2
                    continue
                }
                let boundary = cursor + 1 >= end || !DiscordSyntax.isWordUnit(input[cursor + 1])
                guard cursor > contentStart, boundary else { return nil }
                wrap(.italic, content: contentStart..<cursor, inQuote: inQuote)
                return cursor + 1
            }
            cursor += 1
        }
        return nil
    }

    mutating func wrap(_ kind: MessageEntity.Kind, content: Range<Int>, inQuote: Bool, url: String? = nil) {
        let start = output.count
        parse(content, inQuote: inQuote)
        if output.count > start {
            entities.append(MessageEntity(kind: kind, offset: start, length: output.count - start, url: url))
        }
    }
}
