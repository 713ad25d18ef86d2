/// Turns a flat, possibly overlapping entity list into properly nested open/close events, the
/// shape every markup language needs.
///
/// The text is cut into segments at every entity boundary. For each segment the wanted stack of
/// open entities is "all entities covering it, outermost first"; moving from one segment's stack
/// to the next closes down to the common prefix and opens the rest. Properly nested input never
/// closes early; partially overlapping input gets closed and reopened, so the output always nests.
enum EntityNesting {
    enum Event: Equatable {
        case open(MessageEntity, at: Int)
        case close(MessageEntity, at: Int)
        case text(Range<Int>)
    }

    /// - Parameter entities: normalized entities (in bounds, non-empty).
    static func events(count: Int, entities: [MessageEntity]) -> [Event] {
        let order = stackOrder(entities)
        var rankOf = [Int](repeating: 0, count: entities.count)
        for (rank, index) in order.enumerated() { rankOf[index] = rank }

        var boundaries = Set([0, count])
        for entity in entities {
            boundaries.insert(entity.offset)
            boundaries.insert(entity.end)
        }
        let points = boundaries.sorted()
        let startingAt = Dictionary(grouping: entities.indices, by: { entities[$0].offset })

        var events: [Event] = []
        var stack: [Int] = []
        var active = Set<Int>()
        for (position, nextPosition) in zip(points, points.dropFirst()) {
            active = active.filter { entities[$0].end > position }
            active.formUnion(startingAt[position] ?? [])
            let wanted = allowedStack(active.sorted { rankOf[$0] < rankOf[$1] }, entities: entities)
            transition(from: &stack, to: wanted, at: position, entities: entities, events: &events)
            events.append(.text(position..<nextPosition))
        }
        transition(from: &stack, to: [], at: count, entities: entities, events: &events)
        return events
    }

    /// Outermost first: earlier start, then longer span, then a fixed kind order so that equal
    /// spans nest the same way every time (block and link tags outside, code innermost).
    private static func stackOrder(_ entities: [MessageEntity]) -> [Int] {
        entities.indices.sorted { a, b in
            let x = entities[a]
            let y = entities[b]
            if x.offset != y.offset { return x.offset < y.offset }
            if x.end != y.end { return x.end > y.end }
            if kindRank(x.kind) != kindRank(y.kind) { return kindRank(x.kind) < kindRank(y.kind) }
            return a < b
        }
    }

    private static func kindRank(_ kind: MessageEntity.Kind) -> Int {
        switch kind {
        case .blockquote, .expandableBlockquote: 0
        case .textLink, .textMention: 1
        case .spoiler: 2
        case .bold: 3
        case .italic: 4
        case .underline: 5
        case .strikethrough: 6
        case .url, .email, .phoneNumber, .mention, .hashtag, .cashtag, .botCommand: 7
        case .code, .pre: 8
        case .customEmoji: 9
        }
    }

    /// Applies the nesting rules Telegram documents (and Discord's markdown shares): nothing inside
    /// code, pre or a custom emoji, no quote inside a quote, no link inside a link.
    private static func allowedStack(_ candidates: [Int], entities: [MessageEntity]) -> [Int] {
        var kept: [Int] = []
        var hasQuote = false
        var hasLink = false
        for index in candidates {
            let kind = entities[index].kind
            switch kind {
            case .blockquote, .expandableBlockquote:
                if hasQuote { continue }
                hasQuote = true
            case .textLink, .textMention:
                if hasLink { continue }
                hasLink = true
            default:
                break
            }
            kept.append(index)
            if kind == .code || kind == .pre || kind == .customEmoji { break }
        }
        return kept
    }

    private static func transition(
        from stack: inout [Int], to wanted: [Int], at position: Int, entities: [MessageEntity], events: inout [Event]
    ) {
        var common = 0
        while common < stack.count, common < wanted.count, stack[common] == wanted[common] { common += 1 }
        for index in stack[common...].reversed() { events.append(.close(entities[index], at: position)) }
        for index in wanted[common...] { events.append(.open(entities[index], at: position)) }
        stack = wanted
    }
}
