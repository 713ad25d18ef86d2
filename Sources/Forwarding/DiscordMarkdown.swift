/// Discord's flavour of markdown: rendering from and parsing to the platform-neutral form.
public enum DiscordMarkdown {
    /// Markdown for `text` formatted by `entities` (UTF-16 offsets).
    ///
    /// Plain text is escaped (see `escape(_:)`); code and pre content is copied verbatim. Kinds
    /// Discord cannot show (mentions, hashtags, custom emoji, ...) become their plain text, and
    /// links to anything but http(s) (which Discord would not make clickable) keep only their text.
    /// Quotes always start on their own line, so a newline is inserted before or after one that
    /// does not.
    public static func render(_ text: String, entities: [MessageEntity]) -> String {
        let units = UTF16Text.units(text)
        let prepared = DiscordRenderPreparation.prepare(entities, in: units)
        let events = EntityNesting.events(count: units.count, entities: prepared)
        var writer = DiscordWriter(units: units)
        writer.write(events)
        return writer.finish()
    }
}

/// Reshapes entities into what Discord markdown can express before nesting them.
enum DiscordRenderPreparation {
    static func prepare(_ entities: [MessageEntity], in units: [UInt16]) -> [MessageEntity] {
        var list = EntityNormalization.normalized(entities, in: units).compactMap(representable)
        // Touching spans of one kind would put markers back to back (`****`), which Discord misparses.
        list = EntityNormalization.mergingAdjacent(
            list, kinds: [.bold, .italic, .underline, .strikethrough, .spoiler, .code, .blockquote])
        // A quote's surrounding line breaks are not part of it; trimmed before other spans are cut
        // at its edges, so the cuts land where the "> " prefixes will.
        list = list.compactMap { entity in
            entity.kind == .blockquote ? EntityNormalization.trimmingNewlines(entity, in: units) : entity
        }
        list = splitAtQuoteBoundaries(list)
        // `** x **` is not bold on Discord: markers must hug non-space characters. Code keeps everything.
        return list.compactMap { entity in
            switch entity.kind {
            case .code, .pre, .blockquote: entity
            default: EntityNormalization.trimmingWhitespace(entity, in: units)
            }
        }
    }

    /// nil for kinds rendered as plain text; expandable quotes become plain quotes.
    private static func representable(_ entity: MessageEntity) -> MessageEntity? {
        switch entity.kind {
        case .bold, .italic, .underline, .strikethrough, .spoiler, .code, .pre, .blockquote:
            return entity
        case .expandableBlockquote:
            var quote = entity
            quote.kind = .blockquote
            return quote
        case .textLink:
            guard let url = entity.url, isWebURL(url) else { return nil }
            return entity
        case .url, .email, .phoneNumber, .mention, .hashtag, .cashtag, .botCommand, .textMention, .customEmoji:
            return nil
        }
    }

    static func isWebURL(_ url: String) -> Bool {
        let lower = url.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Discord quotes are line prefixes, so an inline span cannot run into or out of one: such
    /// spans are cut at the quote's edges.
    private static func splitAtQuoteBoundaries(_ entities: [MessageEntity]) -> [MessageEntity] {
        let cuts = Set(entities.filter { $0.kind == .blockquote }.flatMap { [$0.offset, $0.end] }).sorted()
        guard !cuts.isEmpty else { return entities }
        return entities.flatMap { entity -> [MessageEntity] in
            guard entity.kind != .blockquote else { return [entity] }
            let inner = cuts.filter { $0 > entity.offset && $0 < entity.end }
            let points = [entity.offset] + inner + [entity.end]
            return zip(points, points.dropFirst()).map { start, end in
                var piece = entity
                piece.offset = start
                piece.length = end - start
                return piece
            }
        }
    }
}

/// Accumulates Discord markdown for a stream of nesting events.
struct DiscordWriter {
    let units: [UInt16]
    private(set) var out: [UInt16] = []
    private var quoting = false
    /// Only indentation written since the last newline (or quote prefix): line-start syntax matters here.
    private var lineStart = true
    /// Where italic markers go; their character is chosen once the neighbours are known.
    private var italicMarks: [(index: Int, pair: Int)] = []
    private var openItalic: Int?
    private var pairCount = 0
    /// Content range of the code/pre span being written, for fence decisions.
    private var openCode: (entity: MessageEntity, content: Range<Int>)?
    /// Backticks just written inside code; kept across text segments, reset by a line break.
    private var backtickRun = 0

    init(units: [UInt16]) {
        self.units = units
    }

    mutating func write(_ events: [EntityNesting.Event]) {
        // Code fences depend on the content, so each open needs the position of its close.
        var closeOf = [Int](repeating: 0, count: events.count)
        var nextClose: [MessageEntity: Int] = [:]
        for index in events.indices.reversed() {
            switch events[index] {
            case .close(let entity, let position): nextClose[entity] = position
            case .open(let entity, _): closeOf[index] = nextClose[entity] ?? entity.end
            case .text: break
            }
        }
        for (index, event) in events.enumerated() {
            switch event {
            case .open(let entity, let position):
                open(entity, at: position, closingAt: closeOf[index])
            case .close(let entity, let position):
                close(entity, at: position)
            case .text(let range):
                text(range)
            }
        }
    }

    private mutating func open(_ entity: MessageEntity, at position: Int, closingAt end: Int) {
        switch entity.kind {
        case .bold: marker("**")
        case .underline: marker("__")
        case .strikethrough: marker("~~")
        case .spoiler: marker("||")
        case .italic:
            openItalic = pairCount
            italicMarks.append((out.count, pairCount))
            pairCount += 1
            lineStart = false
        case .textLink: marker("[")
        case .code:
            let content = units[position..<end]
            openCode = (entity, position..<end)
            backtickRun = 0
            marker(codeFence(content))
            if content.first == Unit.backtick { marker(" ") }
        case .pre:
            openCode = (entity, position..<end)
            backtickRun = 0
            marker("```" + sanitizedLanguage(entity.language))
            newline()
        case .blockquote:
            if let last = out.last, last != Unit.newline { out.append(Unit.newline) }
            quoting = true
            out.append(contentsOf: "> ".utf16)
            lineStart = true
        default:
            break
        }
    }

    private mutating func close(_ entity: MessageEntity, at position: Int) {
        switch entity.kind {
        case .bold: marker("**")
        case .underline: marker("__")
        case .strikethrough: marker("~~")
        case .spoiler: marker("||")
        case .italic:
            if let pair = openItalic { italicMarks.append((out.count, pair)) }
            openItalic = nil
            lineStart = false
        case .textLink: marker("](" + encodedURL(entity.url ?? "") + ")")
        case .code:
            if let content = openCode?.content {
                if units[content].last == Unit.backtick { marker(" ") }
                marker(codeFence(units[content]))
            }
            openCode = nil
        case .pre:
            newline()
            marker("```")
            openCode = nil
        case .blockquote:
            quoting = false
            if position < units.count, units[position] != Unit.newline {
                out.append(Unit.newline)
                lineStart = true
            }
        default:
            break
        }
    }

    private mutating func text(_ range: Range<Int>) {
        let lines = units[range].split(separator: Unit.newline, omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if index > 0 { newline() }
            switch openCode?.entity.kind {
            case .code?:
                appendBreakingBacktickRuns(line, longest: 1)
            case .pre?:
                appendBreakingBacktickRuns(line, longest: 2)
            default:
                DiscordEscaping.escapeLine(line, lineStart: &lineStart, into: &out)
            }
        }
    }

    /// Code cannot escape its own delimiter, so a zero-width space breaks backtick runs: in a
    /// block, every third backtick (a fence); inline, every second one, since a fence of three
    /// or more backticks would read as a block, and Discord has no other way to quote them.
    private mutating func appendBreakingBacktickRuns(_ line: ArraySlice<UInt16>, longest: Int) {
        for unit in line {
            if unit == Unit.backtick {
                if backtickRun == longest {
                    out.append(Unit.zeroWidthSpace)
                    backtickRun = 0
                }
                backtickRun += 1
            } else {
                backtickRun = 0
            }
            out.append(unit)
        }
        lineStart = false
    }

    private mutating func marker(_ text: String) {
        out.append(contentsOf: text.utf16)
        lineStart = false
    }

    private mutating func newline() {
        backtickRun = 0
        out.append(Unit.newline)
        if quoting { out.append(contentsOf: "> ".utf16) }
        lineStart = true
    }

    /// Inserts italic markers: `*` by default, `_` where a `*` would touch another `*` (Discord
    /// reads `**a***b*` wrongly), unless `_` would itself touch `_` or a word character.
    mutating func finish() -> String {
        var choice: [Int: UInt16] = [:]
        for (pair, marks) in Dictionary(grouping: italicMarks, by: \.pair) {
            guard let open = marks.first?.index, let close = marks.last?.index else { continue }
            let neighbours = [unit(before: open), unit(at: open), unit(before: close), unit(at: close)]
            let touchesStar = neighbours.contains(Unit.asterisk)
            let touchesUnderscore =
                neighbours.contains(Unit.underscore)
                || unit(at: close).map(DiscordSyntax.isWordUnit) == true
            choice[pair] = touchesStar && !touchesUnderscore ? Unit.underscore : Unit.asterisk
        }
        var result: [UInt16] = []
        result.reserveCapacity(out.count + italicMarks.count)
        var markIndex = 0
        for position in 0...out.count {
            while markIndex < italicMarks.count, italicMarks[markIndex].index == position {
                result.append(choice[italicMarks[markIndex].pair] ?? Unit.asterisk)
                markIndex += 1
            }
            if position < out.count { result.append(out[position]) }
        }
        return UTF16Text.string(result)
    }

    /// The unit before `index`, ignoring an escaped `*` (`\*` is literal and cannot pair with a marker).
    private func unit(before index: Int) -> UInt16? {
        guard index > 0 else { return nil }
        let unit = out[index - 1]
        if unit == Unit.asterisk, index > 1, out[index - 2] == Unit.backslash { return Unit.backslash }
        return unit
    }

    private func unit(at index: Int) -> UInt16? { index < out.count ? out[index] : nil }

    /// One backtick, or two when the content has any (runs inside are broken up, see above).
    private func codeFence(_ content: ArraySlice<UInt16>) -> String {
        content.contains(Unit.backtick) ? "``" : "`"
    }

    /// Discord only highlights languages made of these characters; anything else is dropped.
    private func sanitizedLanguage(_ language: String?) -> String {
        let lower = (language ?? "").lowercased()
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_+-.#")
        return lower.allSatisfy(allowed.contains) ? lower : ""
    }

    /// Percent-encodes what would end or break the `(url)` part of a masked link.
    private func encodedURL(_ url: String) -> String {
        var encoded = ""
        for scalar in url.unicodeScalars {
            switch scalar {
            case "(": encoded += "%28"
            case ")": encoded += "%29"
            case " ": encoded += "%20"
            case "<": encoded += "%3C"
            case ">": encoded += "%3E"
            case "\\": encoded += "%5C"
            default: encoded.unicodeScalars.append(scalar)
            }
        }
        return encoded
    }
}
