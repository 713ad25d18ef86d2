/// Replacement of a UTF-16 range of a message's text, applied so that entities stay correct.
///
/// Entity rules, for a replaced range `[a, b)`:
/// - entities before it are untouched, entities after it shift;
/// - an entity covering the whole range keeps covering it and grows or shrinks with the
///   replacement (a regex rewriting a bold word leaves the new word bold);
/// - an entity overlapping one edge loses the removed part and does not take in the replacement;
/// - an entity lying inside the range (and not equal to it) disappears, as does any entity whose
///   length drops to zero.
/// A pure insertion (`a == b`) joins an entity only when strictly inside it: text inserted at an
/// entity's start or end stays outside (headers and footers never inherit formatting).
public struct TextEdit: Sendable, Equatable {
    /// The replaced range in UTF-16 code units of the original text.
    public var range: Range<Int>
    public var replacement: String

    public init(range: Range<Int>, replacement: String) {
        self.range = range
        self.replacement = replacement
    }

    /// Inserts `text` before the unit at `offset`.
    public static func insert(_ text: String, at offset: Int) -> TextEdit {
        TextEdit(range: offset..<offset, replacement: text)
    }

    /// Removes `range`.
    public static func delete(_ range: Range<Int>) -> TextEdit {
        TextEdit(range: range, replacement: "")
    }

    /// Applies `edits`, all expressed in offsets of the original `text`.
    ///
    /// Ranges are clamped to the text and widened off surrogate-pair middles. Edits are applied in
    /// offset order; one overlapping an earlier edit is ignored. Insertions at the same offset keep
    /// their given order. Entities are normalized first (clamped, empty ones and duplicates dropped).
    public static func apply(
        _ edits: [TextEdit], to text: String, entities: [MessageEntity]
    ) -> (text: String, entities: [MessageEntity]) {
        var units = UTF16Text.units(text)
        var current = EntityNormalization.normalized(entities, in: units)
        for edit in nonOverlapping(edits, in: units).reversed() {
            let replacement = UTF16Text.units(edit.replacement)
            units.replaceSubrange(edit.range, with: replacement)
            current = current.compactMap { adjust($0, replacing: edit.range, withLength: replacement.count) }
        }
        return (UTF16Text.string(units), current)
    }

    private static func nonOverlapping(_ edits: [TextEdit], in units: [UInt16]) -> [TextEdit] {
        let clamped = edits.map { edit -> TextEdit in
            let start = UTF16Text.floorToScalar(edit.range.lowerBound, in: units)
            let end = max(start, UTF16Text.ceilToScalar(edit.range.upperBound, in: units))
            return TextEdit(range: start..<end, replacement: edit.replacement)
        }
        let ordered = clamped.enumerated().sorted { x, y in
            let (a, b) = (x.element.range, y.element.range)
            if a.lowerBound != b.lowerBound { return a.lowerBound < b.lowerBound }
            if a.upperBound != b.upperBound { return a.upperBound < b.upperBound }
            return x.offset < y.offset
        }.map(\.element)
        var kept: [TextEdit] = []
        for edit in ordered {
            if let last = kept.last, edit.range.lowerBound < last.range.upperBound { continue }
            kept.append(edit)
        }
        return kept
    }

    static func adjust(_ entity: MessageEntity, replacing range: Range<Int>, withLength inserted: Int) -> MessageEntity?
    {
        let (a, b) = (range.lowerBound, range.upperBound)
        let (start, end) = (entity.offset, entity.end)
        let delta = inserted - (b - a)
        var result = entity
        if a == b {
            if a <= start {
                result.offset += inserted
            } else if a < end {
                result.length += inserted
            }
            return result
        }
        if end <= a { return result }
        if start >= b {
            result.offset += delta
            return result
        }
        if start <= a, end >= b {
            result.length += delta
        } else if start < a {
            result.length = a - start
        } else if end > b {
            result.offset = a + inserted
            result.length = end - b
        } else {
            return nil
        }
        return result.length > 0 ? result : nil
    }
}

extension Message {
    /// The message with `edits` applied to its text and entities (see `TextEdit.apply`).
    public func applying(_ edits: [TextEdit]) -> Message {
        var copy = self
        (copy.text, copy.entities) = TextEdit.apply(edits, to: text, entities: entities)
        return copy
    }
}
