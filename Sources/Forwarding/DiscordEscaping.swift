extension DiscordMarkdown {
    /// Escapes plain text so Discord shows it literally: markdown characters get a backslash,
    /// line-start syntax (`>` quotes, `#` headings, `-`/`1.` lists) is neutralised, `<` is escaped
    /// so `<@id>`-style mentions do not resolve, and `@everyone`/`@here` get a zero-width space
    /// after the `@`. Bare `http(s)://` URLs are copied verbatim so they stay clickable.
    ///
    /// `parse(escape(text))` returns `text` with no entities.
    public static func escape(_ text: String) -> String {
        let units = UTF16Text.units(text)
        var out: [UInt16] = []
        out.reserveCapacity(units.count + units.count / 8)
        var lineStart = true
        for (index, line) in units.split(separator: Unit.newline, omittingEmptySubsequences: false).enumerated() {
            if index > 0 {
                out.append(Unit.newline)
                lineStart = true
            }
            DiscordEscaping.escapeLine(line, lineStart: &lineStart, into: &out)
        }
        return UTF16Text.string(out)
    }
}

enum DiscordEscaping {
    /// Characters that are markdown wherever they appear.
    static let alwaysEscaped: Set<UInt16> = Set("\\*_~`|[]<".utf16)
    /// Characters that are markdown only at the start of a line (after optional indentation).
    static let lineStartEscaped: Set<UInt16> = Set(">#-".utf16)

    /// Escapes one line (no `\n` inside). `lineStart` says whether the output so far on this line
    /// is only indentation; it is updated for the caller, who may continue the line later.
    static func escapeLine(_ line: ArraySlice<UInt16>, lineStart: inout Bool, into out: inout [UInt16]) {
        let units = Array(line)
        var index = 0
        while index < units.count {
            let unit = units[index]
            if unit == 0x68, let urlEnd = DiscordSyntax.bareURLEnd(at: index, in: units, end: units.count) {
                out.append(contentsOf: units[index..<urlEnd])
                index = urlEnd
                lineStart = false
                continue
            }
            if let ping = DiscordSyntax.massPing(at: index, in: units, end: units.count) {
                // One extra zero-width space per ping; the parser removes exactly one, so
                // pre-existing ones survive the round trip.
                out.append(Unit.at)
                out.append(Unit.zeroWidthSpace)
                out.append(contentsOf: units[(index + 1)..<(index + ping.length)])
                index += ping.length
                lineStart = false
                continue
            }
            if lineStart, (0x30...0x39).contains(unit) {
                // "1. item" is an ordered list; escaping the dot keeps the digits readable.
                var digitsEnd = index
                while digitsEnd < units.count, (0x30...0x39).contains(units[digitsEnd]) { digitsEnd += 1 }
                out.append(contentsOf: units[index..<digitsEnd])
                if digitsEnd < units.count, units[digitsEnd] == Unit.period {
                    out.append(Unit.backslash)
                    out.append(Unit.period)
                    digitsEnd += 1
                }
                index = digitsEnd
                lineStart = false
                continue
            }
            if alwaysEscaped.contains(unit) || (lineStart && lineStartEscaped.contains(unit)) {
                out.append(Unit.backslash)
            }
            out.append(unit)
            if unit != Unit.space && unit != Unit.tab { lineStart = false }
            index += 1
        }
    }
}
