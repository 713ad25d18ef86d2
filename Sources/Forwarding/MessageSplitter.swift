/// Splits long formatted text into chunks whose rendering fits a platform limit.
public enum MessageSplitter {
    /// A piece of the original text with its entities re-based to the piece.
    public typealias Chunk = (text: String, entities: [MessageEntity])

    /// Cuts `text` so that `render(chunk)` has at most `limit` UTF-16 units.
    ///
    /// Cut preference: a paragraph break, a newline, a sentence end, a space, then any grapheme
    /// boundary (never inside an emoji sequence or surrogate pair); cuts outside entities beat
    /// cuts inside them. Only the latter half of the longest fitting prefix is considered, so a
    /// chunk is never cut short for a nicer boundary. Whitespace at a cut is dropped, except
    /// inside code/pre, where only the newline at the cut goes (indentation is content). An entity
    /// crossing a cut continues in the next chunk as an entity of the same kind.
    ///
    /// Empty text gives no chunks. If not even one grapheme fits with its markup, that chunk is cut
    /// as plain text without entities; if a grapheme does not fit even then, it is emitted alone
    /// (over the limit): the limit must leave room for one character and its escaping, which every
    /// real platform limit does.
    public static func split(
        _ text: String, entities: [MessageEntity], limit: Int, render: (String, [MessageEntity]) -> String
    ) -> [Chunk] {
        cut(text, entities: entities, limit: limit, render: render).chunks
    }

    /// `split` with the renderer and limit of a platform: Telegram HTML at 4096 (1024 for a
    /// caption), Discord markdown at 2000.
    public static func split(_ text: String, entities: [MessageEntity], for platform: Platform, isCaption: Bool = false)
        -> [Chunk]
    {
        let (limit, render) = rules(for: platform, isCaption: isCaption)
        return split(text, entities: entities, limit: limit, render: render)
    }

    /// The chunks of `split(_:entities:for:isCaption:)` rendered for the platform: what is sent.
    /// A text that fits whole is sent as the one rendering that showed it fits.
    public static func rendered(
        _ text: String, entities: [MessageEntity], for platform: Platform, isCaption: Bool = false
    ) -> [String] {
        let (limit, render) = rules(for: platform, isCaption: isCaption)
        let (chunks, whole) = cut(text, entities: entities, limit: limit, render: render)
        return whole.map { [$0] } ?? chunks.map { render($0.text, $0.entities) }
    }

    /// The chunks, and the whole text's rendering when it fits (no cut was needed).
    private static func cut(
        _ text: String, entities: [MessageEntity], limit: Int, render: (String, [MessageEntity]) -> String
    ) -> (chunks: [Chunk], whole: String?) {
        let units = UTF16Text.units(text)
        guard !units.isEmpty else { return ([], nil) }
        let entities = EntityNormalization.normalized(entities, in: units)
        // Most messages fit whole: one rendering settles it, without the tables a cut needs.
        let whole = render(text, entities)
        if whole.utf16.count <= limit { return ([(text, entities)], whole) }
        let chunks = withoutActuallyEscaping(render) { render in
            Splitter(text: text, units: units, entities: entities, limit: limit, render: render).run()
        }
        return (chunks, nil)
    }

    private static func rules(for platform: Platform, isCaption: Bool)
        -> (limit: Int, render: (String, [MessageEntity]) -> String)
    {
        switch platform {
        case .telegram:
            (isCaption ? PlatformLimits.telegramCaption : PlatformLimits.telegramText, TelegramHTML.render)
        case .discord:
            (PlatformLimits.discordContent, DiscordMarkdown.render)
        }
    }
}

private struct Splitter {
    /// Kinds of cut, best first.
    enum Tier: Int, Comparable {
        case paragraph, newline, sentence, space, anywhere
        static func < (a: Tier, b: Tier) -> Bool { a.rawValue < b.rawValue }
    }

    struct Cut {
        var chunkEnd: Int
        var nextStart: Int
    }

    let units: [UInt16]
    let entities: [MessageEntity]
    let limit: Int
    let render: (String, [MessageEntity]) -> String
    /// `boundaries` are grapheme cluster starts plus the end; `isBoundary` indexes them by offset.
    let boundaries: [Int]
    let isBoundary: [Bool]
    /// Per offset p, how many entities (and code/pre entities) have offset < p < end.
    let insideEntity: [Int]
    let insideCode: [Int]

    /// `entities` normalized (`EntityNormalization`) against `units`, the text's UTF-16 units.
    init(
        text: String, units: [UInt16], entities: [MessageEntity], limit: Int,
        render: @escaping (String, [MessageEntity]) -> String
    ) {
        self.units = units
        self.entities = entities
        self.limit = limit
        self.render = render
        var boundaries = [0]
        var isBoundary = [Bool](repeating: false, count: units.count + 1)
        isBoundary[0] = true
        var position = 0
        for character in text {
            position += character.utf16.count
            boundaries.append(position)
            isBoundary[position] = true
        }
        self.boundaries = boundaries
        self.isBoundary = isBoundary
        insideEntity = Self.depth(of: self.entities, count: units.count)
        insideCode = Self.depth(of: self.entities.filter { $0.kind == .code || $0.kind == .pre }, count: units.count)
    }

    private static func depth(of entities: [MessageEntity], count: Int) -> [Int] {
        var diff = [Int](repeating: 0, count: count + 2)
        for entity in entities where entity.length > 1 {
            diff[entity.offset + 1] += 1
            diff[entity.end] -= 1
        }
        var depth = [Int](repeating: 0, count: count + 1)
        var running = 0
        for position in 0...count {
            running += diff[position]
            depth[position] = running
        }
        return depth
    }

    func run() -> [MessageSplitter.Chunk] {
        guard !units.isEmpty else { return [] }
        var chunks: [MessageSplitter.Chunk] = []
        var start = 0
        while start < units.count {
            let (cut, keepEntities) = nextCut(from: start)
            chunks.append(chunk(start..<cut.chunkEnd, keepEntities: keepEntities))
            start = cut.nextStart
        }
        return chunks
    }

    /// The cut for the chunk starting at `start`, and whether that chunk keeps its entities
    /// (dropped only when not even one grapheme fits with its markup).
    private func nextCut(from start: Int) -> (Cut, Bool) {
        if let cut = bestCut(from: start, keepEntities: true) { return (cut, true) }
        if let cut = bestCut(from: start, keepEntities: false) { return (cut, false) }
        let end = boundaries[firstBoundaryIndex(after: start)]
        return (Cut(chunkEnd: end, nextStart: end), false)
    }

    private func bestCut(from start: Int, keepEntities: Bool) -> Cut? {
        let fits = { (range: Range<Int>) in self.fits(range, keepEntities: keepEntities) }
        if fits(start..<units.count) { return Cut(chunkEnd: units.count, nextStart: units.count) }
        // Boundaries after `start`; the rendered length grows with the end offset, so binary search.
        var low = firstBoundaryIndex(after: start)
        var high = boundaries.count - 1  // known not to fit
        guard fits(start..<boundaries[low]) else { return nil }
        while high - low > 1 {
            let middle = (low + high) / 2
            if fits(start..<boundaries[middle]) { low = middle } else { high = middle }
        }
        let longest = boundaries[low]
        for cut in preferredCuts(from: start, upTo: longest).prefix(64) where fits(start..<cut.chunkEnd) {
            return cut
        }
        return Cut(chunkEnd: longest, nextStart: longest)
    }

    private func firstBoundaryIndex(after position: Int) -> Int {
        var low = 0
        var high = boundaries.count - 1
        while low < high {
            let middle = (low + high) / 2
            if boundaries[middle] <= position { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Candidate cuts in the second half of `start..<longest`, best first.
    private func preferredCuts(from start: Int, upTo longest: Int) -> [Cut] {
        let windowStart = start + (longest - start) / 2
        var ranked: [(tier: Tier, inside: Bool, position: Int, cut: Cut)] = []
        var position = longest
        while position > windowStart {
            if isBoundary[position], let ranking = rank(position, start: start) {
                ranked.append((ranking.tier, insideEntity[position] > 0, position, ranking.cut))
            }
            position -= 1
        }
        ranked.sort { a, b in
            if a.inside != b.inside { return !a.inside }
            if a.tier != b.tier { return a.tier < b.tier }
            return a.position > b.position
        }
        return ranked.map(\.cut)
    }

    /// The tier of cutting at `position` and what the cut keeps and drops.
    private func rank(_ position: Int, start: Int) -> (tier: Tier, cut: Cut)? {
        guard position < units.count, UTF16Text.isWhitespace(units[position]) else {
            return (.anywhere, Cut(chunkEnd: position, nextStart: position))
        }
        let unit = units[position]
        let tier: Tier
        if unit == Unit.newline {
            let paragraph = position + 1 < units.count && units[position + 1] == Unit.newline
            tier = paragraph ? .paragraph : .newline
        } else if position > start, [Unit.period, Unit.exclamation, Unit.question].contains(units[position - 1]) {
            tier = .sentence
        } else {
            tier = .space
        }
        if insideCode[position] > 0 {
            let dropsNewline = unit == Unit.newline && isBoundary[position + 1]
            return (tier, Cut(chunkEnd: position, nextStart: dropsNewline ? position + 1 : position))
        }
        let chunkEnd = trimmingWhitespace(before: position, notBelow: start)
        guard chunkEnd > start else { return nil }
        return (tier, Cut(chunkEnd: chunkEnd, nextStart: skippingWhitespace(from: position)))
    }

    /// Moves back over whole whitespace clusters.
    private func trimmingWhitespace(before position: Int, notBelow start: Int) -> Int {
        var end = position
        while end > start {
            var previous = end - 1
            while previous > start, !isBoundary[previous] { previous -= 1 }
            guard units[previous..<end].allSatisfy(UTF16Text.isWhitespace) else { break }
            end = previous
        }
        return end
    }

    /// Moves forward over whole whitespace clusters (a space carrying a combining mark is kept).
    private func skippingWhitespace(from position: Int) -> Int {
        var start = position
        while start < units.count {
            var next = start + 1
            while next < units.count, !isBoundary[next] { next += 1 }
            guard units[start..<next].allSatisfy(UTF16Text.isWhitespace) else { break }
            start = next
        }
        return start
    }

    private func fits(_ range: Range<Int>, keepEntities: Bool) -> Bool {
        let piece = chunk(range, keepEntities: keepEntities)
        return render(piece.text, piece.entities).utf16.count <= limit
    }

    private func chunk(_ range: Range<Int>, keepEntities: Bool) -> MessageSplitter.Chunk {
        let text = UTF16Text.string(units[range])
        guard keepEntities else { return (text, []) }
        let clipped = entities.compactMap { entity -> MessageEntity? in
            let start = max(entity.offset, range.lowerBound)
            let end = min(entity.end, range.upperBound)
            guard end > start else { return nil }
            var piece = entity
            piece.offset = start - range.lowerBound
            piece.length = end - start
            return piece
        }
        return (text, clipped)
    }
}
