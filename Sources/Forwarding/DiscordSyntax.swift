/// Lexical pieces of Discord markdown shared by the escaper, the renderer and the parser.
///
/// The escaper and the parser must agree exactly on where a bare URL starts and ends (both copy it
/// verbatim) so that `parse(escape(text))` gives `text` back.
enum DiscordSyntax {
    /// `http://` or `https://` at `index`: the index just past `//`.
    static func urlSchemeEnd(at index: Int, in units: [UInt16], end: Int) -> Int? {
        for scheme in ["https://", "http://"] {
            let pattern = Array(scheme.utf16)
            if index + pattern.count <= end, Array(units[index..<index + pattern.count]) == pattern {
                return index + pattern.count
            }
        }
        return nil
    }

    /// A bare URL starting at `index`: it runs to the next whitespace, `<` or `\`. Discord's
    /// auto-linker does not interpret markdown inside it, so it must be neither escaped nor parsed.
    static func bareURLEnd(at index: Int, in units: [UInt16], end: Int) -> Int? {
        guard let bodyStart = urlSchemeEnd(at: index, in: units, end: end) else { return nil }
        var cursor = bodyStart
        while cursor < end, !isURLStop(units[cursor]) { cursor += 1 }
        return cursor > bodyStart ? cursor : nil
    }

    static func isURLStop(_ unit: UInt16) -> Bool {
        UTF16Text.isWhitespace(unit) || unit == Unit.lessThan || unit == Unit.backslash
    }

    /// JavaScript's `\w`, which Discord's `_italic_` rule uses for its word-boundary check.
    static func isWordUnit(_ unit: UInt16) -> Bool {
        UTF16Text.isASCIIAlphanumeric(unit) || unit == Unit.underscore
    }

    /// Length of `@` + zero-width spaces + `everyone`/`here` at `index`, counting the zero-width
    /// spaces; nil if there is no such ping there.
    static func massPing(at index: Int, in units: [UInt16], end: Int) -> (zeroWidthSpaces: Int, length: Int)? {
        guard index < end, units[index] == Unit.at else { return nil }
        var cursor = index + 1
        while cursor < end, units[cursor] == Unit.zeroWidthSpace { cursor += 1 }
        for word in ["everyone", "here"] {
            let pattern = Array(word.utf16)
            if cursor + pattern.count <= end, Array(units[cursor..<cursor + pattern.count]) == pattern {
                return (cursor - index - 1, cursor + pattern.count - index)
            }
        }
        return nil
    }

    /// A `<...>` token at `index`.
    enum AngleToken: Equatable {
        case user(UInt64), role(UInt64), channel(UInt64)
        case customEmoji(name: String, id: UInt64, animated: Bool)
        case timestamp
        /// `<https://...>`: a link whose embed is suppressed; the payload is the URL range.
        case bracketedURL(Range<Int>)
    }

    /// Recognises `<@id>`, `<@!id>`, `<@&id>`, `<#id>`, `<:name:id>`, `<a:name:id>`, `<t:secs[:style]>`
    /// and `<http(s)://...>`; returns the token and the index just past `>`.
    static func angleToken(at index: Int, in units: [UInt16], end: Int) -> (AngleToken, Int)? {
        guard index < end, units[index] == Unit.lessThan else { return nil }
        var scanner = Scanner(units: units, cursor: index + 1, end: end)
        if scanner.take("@") {
            let isRole = scanner.take("&")
            if !isRole { _ = scanner.take("!") }
            guard let id = scanner.snowflake(), scanner.take(">") else { return nil }
            return (isRole ? .role(id) : .user(id), scanner.cursor)
        }
        if scanner.take("#") {
            guard let id = scanner.snowflake(), scanner.take(">") else { return nil }
            return (.channel(id), scanner.cursor)
        }
        let animated = scanner.take("a:")
        if animated || scanner.take(":") {
            let name = scanner.word()
            guard !name.isEmpty, scanner.take(":"), let id = scanner.snowflake(), scanner.take(">") else { return nil }
            return (.customEmoji(name: name, id: id, animated: animated), scanner.cursor)
        }
        if scanner.take("t:") {
            guard scanner.snowflake() != nil else { return nil }
            if scanner.take(":") {
                guard scanner.cursor < end, "tTdDfFR".utf16.contains(units[scanner.cursor]) else { return nil }
                scanner.cursor += 1
            }
            guard scanner.take(">") else { return nil }
            return (.timestamp, scanner.cursor)
        }
        if let bodyStart = urlSchemeEnd(at: index + 1, in: units, end: end) {
            var cursor = bodyStart
            while cursor < end, units[cursor] != Unit.greaterThan, !isURLStop(units[cursor]) { cursor += 1 }
            guard cursor > bodyStart, cursor < end, units[cursor] == Unit.greaterThan else { return nil }
            return (.bracketedURL(index + 1..<cursor), cursor + 1)
        }
        return nil
    }

    private struct Scanner {
        let units: [UInt16]
        var cursor: Int
        let end: Int

        mutating func take(_ literal: String) -> Bool {
            let pattern = Array(literal.utf16)
            guard cursor + pattern.count <= end, Array(units[cursor..<cursor + pattern.count]) == pattern else {
                return false
            }
            cursor += pattern.count
            return true
        }

        /// Decimal digits that fit a snowflake (UInt64).
        mutating func snowflake() -> UInt64? {
            var value: UInt64 = 0
            let start = cursor
            while cursor < end, (0x30...0x39).contains(units[cursor]) {
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(UInt64(units[cursor] - 0x30))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                cursor += 1
            }
            return cursor > start ? value : nil
        }

        mutating func word() -> String {
            let start = cursor
            while cursor < end, DiscordSyntax.isWordUnit(units[cursor]) { cursor += 1 }
            return UTF16Text.string(units[start..<cursor])
        }
    }
}
