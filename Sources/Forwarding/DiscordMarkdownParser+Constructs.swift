/// Code spans, code blocks, links, `<...>` tokens and quotes: the constructs of
/// `DiscordMarkdownParser` that are not simple paired delimiters.
extension DiscordMarkdownParser {
    // MARK: Code

    /// ```` ```lang\ncode``` ````: an optional language line, then content up to the next fence.
    mutating func codeBlock(at index: Int, end: Int) -> Int? {
        guard index + 3 <= end, input[index + 1] == Unit.backtick, input[index + 2] == Unit.backtick else {
            return nil
        }
        let afterFence = index + 3
        var languageEnd = afterFence
        let languageUnits = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.#".utf16)
        while languageEnd < end, languageUnits.contains(input[languageEnd]) { languageEnd += 1 }
        if languageEnd > afterFence, languageEnd < end, input[languageEnd] == Unit.newline,
            let result = codeBlockBody(from: languageEnd + 1, end: end, language: afterFence..<languageEnd)
        {
            return result
        }
        return codeBlockBody(from: afterFence, end: end, language: nil)
    }

    private mutating func codeBlockBody(from start: Int, end: Int, language: Range<Int>?) -> Int? {
        var contentStart = start
        while contentStart < end, input[contentStart] == Unit.newline { contentStart += 1 }
        var fence = contentStart + 1
        while fence + 3 <= end {
            if input[fence] == Unit.backtick, input[fence + 1] == Unit.backtick, input[fence + 2] == Unit.backtick {
                break
            }
            fence += 1
        }
        guard fence + 3 <= end else { return nil }
        var contentEnd = fence
        while contentEnd > contentStart, input[contentEnd - 1] == Unit.newline { contentEnd -= 1 }
        let offset = output.count
        output.append(contentsOf: input[contentStart..<contentEnd])
        let name = language.map { UTF16Text.string(input[$0]).lowercased() }
        entities.append(MessageEntity(kind: .pre, offset: offset, length: contentEnd - contentStart, language: name))
        return fence + 3
    }

    /// `` `x` `` / ``` ``x`y`` ```: the closer is a run of exactly as many backticks. One space
    /// padding next to a backtick at either end is removed, as Discord does.
    mutating func inlineCode(at index: Int, end: Int) -> Int? {
        var runEnd = index
        while runEnd < end, input[runEnd] == Unit.backtick { runEnd += 1 }
        // The opener may match fewer backticks than the run (regex backtracking); longest first.
        for width in stride(from: runEnd - index, through: 1, by: -1) {
            let contentStart = index + width
            guard let closer = closingRun(width: width, from: contentStart, end: end) else { continue }
            var content = contentStart..<closer
            if content.count >= 2, input[content.lowerBound] == Unit.space,
                input[content.lowerBound + 1] == Unit.backtick
            {
                content = (content.lowerBound + 1)..<content.upperBound
            }
            if content.count >= 2, input[content.upperBound - 1] == Unit.space,
                input[content.upperBound - 2] == Unit.backtick
            {
                content = content.lowerBound..<(content.upperBound - 1)
            }
            let offset = output.count
            output.append(contentsOf: input[content])
            entities.append(MessageEntity(kind: .code, offset: offset, length: content.count))
            return closer + width
        }
        output.append(contentsOf: input[index..<runEnd])
        return runEnd
    }

    private func closingRun(width: Int, from contentStart: Int, end: Int) -> Int? {
        var cursor = contentStart + 1
        while cursor + width <= end {
            if input[cursor - 1] != Unit.backtick, input[cursor] == Unit.backtick {
                var runEnd = cursor
                while runEnd < end, input[runEnd] == Unit.backtick { runEnd += 1 }
                if runEnd - cursor == width { return cursor }
                cursor = runEnd
                continue
            }
            cursor += 1
        }
        return nil
    }

    // MARK: Links, tokens, quotes

    /// `[text](url)` with an http(s) URL; other targets are not links on Discord and stay literal.
    mutating func maskedLink(at index: Int, end: Int, inQuote: Bool) -> Int? {
        var cursor = index + 1
        var depth = 0
        while cursor < end {
            let unit = input[cursor]
            if unit == Unit.backslash {
                cursor += 2
                continue
            }
            if unit == Unit.openBracket { depth += 1 }
            if unit == Unit.closeBracket {
                if depth == 0 { break }
                depth -= 1
            }
            cursor += 1
        }
        let textEnd = cursor
        guard textEnd + 1 < end, input[textEnd + 1] == Unit.openParen,
            let (url, after) = linkTarget(from: textEnd + 2, end: end),
            DiscordRenderPreparation.isWebURL(url)
        else { return nil }
        wrap(.textLink, content: (index + 1)..<textEnd, inQuote: inQuote, url: url)
        return after
    }

    /// The `url)` part: optional `<...>`, one level of balanced parentheses, backslash escapes.
    private func linkTarget(from start: Int, end: Int) -> (String, Int)? {
        var cursor = start
        while cursor < end, UTF16Text.isWhitespace(input[cursor]) { cursor += 1 }
        var url: [UInt16] = []
        while cursor < end {
            let unit = input[cursor]
            if unit == Unit.closeParen || UTF16Text.isWhitespace(unit) { break }
            if unit == Unit.backslash, cursor + 1 < end {
                url.append(input[cursor + 1])
                cursor += 2
                continue
            }
            if unit == Unit.openParen {
                guard let close = input[cursor..<end].firstIndex(of: Unit.closeParen) else { return nil }
                url.append(contentsOf: input[cursor...close])
                cursor = close + 1
                continue
            }
            url.append(unit)
            cursor += 1
        }
        while cursor < end, UTF16Text.isWhitespace(input[cursor]) { cursor += 1 }
        guard cursor < end, input[cursor] == Unit.closeParen, !url.isEmpty else { return nil }
        if url.first == Unit.lessThan, url.last == Unit.greaterThan, url.count >= 2 {
            url = Array(url.dropFirst().dropLast())
        }
        return (UTF16Text.string(url), cursor + 1)
    }

    mutating func angleToken(at index: Int, end: Int) -> Int? {
        guard let (token, after) = DiscordSyntax.angleToken(at: index, in: input, end: end) else { return nil }
        switch token {
        case .customEmoji(let name, _, _):
            output.append(contentsOf: ":\(name):".utf16)
        case .bracketedURL(let range):
            output.append(contentsOf: input[range])
        case .user, .role, .channel, .timestamp:
            output.append(contentsOf: input[index..<after])
        }
        return after
    }

    /// `> ` lines (consecutive ones form one quote) or `>>> ` (quotes the rest). The quote's
    /// content, prefixes removed, is parsed on its own, since it is not contiguous in the input.
    mutating func quote(at index: Int, end: Int) -> Int? {
        var lines: [Range<Int>] = []
        var cursor = index
        var after = index
        while cursor < end {
            var marker = cursor
            while marker < end, input[marker] == Unit.space { marker += 1 }
            if lines.isEmpty, hasPrefix(">>> ", at: marker, end: end) {
                lines = [(marker + 4)..<end]
                after = end
                break
            }
            guard hasPrefix("> ", at: marker, end: end) else { break }
            let lineEnd = input[(marker + 2)..<end].firstIndex(of: Unit.newline) ?? end
            lines.append((marker + 2)..<lineEnd)
            after = lineEnd
            cursor = lineEnd + 1
            if lineEnd >= end { break }
        }
        guard !lines.isEmpty else { return nil }
        var content: [UInt16] = []
        for (number, line) in lines.enumerated() {
            if number > 0 { content.append(Unit.newline) }
            content.append(contentsOf: input[line])
        }
        var nested = DiscordMarkdownParser(input: content)
        nested.parse(0..<content.count, inQuote: true)
        let offset = output.count
        output.append(contentsOf: nested.output)
        entities.append(
            contentsOf: nested.entities.map { entity in
                var shifted = entity
                shifted.offset += offset
                return shifted
            })
        if !nested.output.isEmpty {
            entities.append(MessageEntity(kind: .blockquote, offset: offset, length: nested.output.count))
        }
        return after
    }

    private func hasPrefix(_ literal: String, at index: Int, end: Int) -> Bool {
        let pattern = Array(literal.utf16)
        return index + pattern.count <= end && Array(input[index..<index + pattern.count]) == pattern
    }
}
