/// Cleans entity lists before rendering or editing, so the rest of the module can assume
/// in-bounds, non-empty, scalar-aligned spans.
enum EntityNormalization {
    /// Clamps every entity to the text, widens it off surrogate-pair middles, drops empty spans
    /// and exact duplicates. Order is otherwise preserved.
    static func normalized(_ entities: [MessageEntity], in units: [UInt16]) -> [MessageEntity] {
        var seen = Set<MessageEntity>()
        var result: [MessageEntity] = []
        for entity in entities {
            let range = UTF16Text.clampedRange(offset: entity.offset, length: entity.length, count: units.count)
            guard !range.isEmpty else { continue }
            let start = UTF16Text.floorToScalar(range.lowerBound, in: units)
            let end = UTF16Text.ceilToScalar(range.upperBound, in: units)
            var fixed = entity
            fixed.offset = start
            fixed.length = end - start
            if seen.insert(fixed).inserted { result.append(fixed) }
        }
        return result
    }

    /// Shrinks an entity so it neither starts nor ends with whitespace (nil if nothing is left).
    static func trimmingWhitespace(_ entity: MessageEntity, in units: [UInt16]) -> MessageEntity? {
        var start = entity.offset
        var end = entity.end
        while start < end, UTF16Text.isWhitespace(units[start]) { start += 1 }
        while end > start, UTF16Text.isWhitespace(units[end - 1]) { end -= 1 }
        guard end > start else { return nil }
        var trimmed = entity
        trimmed.offset = start
        trimmed.length = end - start
        return trimmed
    }

    /// Shrinks an entity so it neither starts nor ends with a line break (nil if nothing is left).
    static func trimmingNewlines(_ entity: MessageEntity, in units: [UInt16]) -> MessageEntity? {
        var start = entity.offset
        var end = entity.end
        while start < end, units[start] == Unit.newline { start += 1 }
        while end > start, units[end - 1] == Unit.newline { end -= 1 }
        guard end > start else { return nil }
        var trimmed = entity
        trimmed.offset = start
        trimmed.length = end - start
        return trimmed
    }

    /// Merges overlapping or touching entities of the given kinds into one span per run.
    ///
    /// Two adjacent bold spans are visually one; rendering them separately would put `****`
    /// in Discord markdown, which its parser misreads.
    static func mergingAdjacent(_ entities: [MessageEntity], kinds: Set<MessageEntity.Kind>) -> [MessageEntity] {
        var others: [MessageEntity] = []
        var byKind: [MessageEntity.Kind: [MessageEntity]] = [:]
        for entity in entities {
            if kinds.contains(entity.kind) {
                byKind[entity.kind, default: []].append(entity)
            } else {
                others.append(entity)
            }
        }
        var merged: [MessageEntity] = []
        for kind in MessageEntity.Kind.allCases {
            guard let group = byKind[kind] else { continue }
            var current: MessageEntity?
            for entity in group.sorted(by: { ($0.offset, $0.end) < ($1.offset, $1.end) }) {
                if var open = current, entity.offset <= open.end, sameAttributes(open, entity) {
                    open.length = max(open.end, entity.end) - open.offset
                    current = open
                } else {
                    if let open = current { merged.append(open) }
                    current = entity
                }
            }
            if let open = current { merged.append(open) }
        }
        return others + merged
    }

    private static func sameAttributes(_ a: MessageEntity, _ b: MessageEntity) -> Bool {
        a.url == b.url && a.language == b.language && a.userID == b.userID && a.customEmojiID == b.customEmojiID
    }
}
