/// UTF-16 helpers: entity offsets are UTF-16 code units, so all text surgery in this module
/// happens on `[UInt16]` buffers and is converted back to `String` only at the end.
enum UTF16Text {
    static func isHighSurrogate(_ unit: UInt16) -> Bool { unit & 0xFC00 == 0xD800 }
    static func isLowSurrogate(_ unit: UInt16) -> Bool { unit & 0xFC00 == 0xDC00 }

    /// True when `index` sits between the two halves of a surrogate pair.
    static func splitsPair(_ index: Int, in units: [UInt16]) -> Bool {
        index > 0 && index < units.count && isHighSurrogate(units[index - 1]) && isLowSurrogate(units[index])
    }

    /// Clamps `index` into `0...units.count`, moving it back off the middle of a surrogate pair.
    static func floorToScalar(_ index: Int, in units: [UInt16]) -> Int {
        let clamped = min(max(index, 0), units.count)
        return splitsPair(clamped, in: units) ? clamped - 1 : clamped
    }

    /// Clamps `index` into `0...units.count`, moving it forward off the middle of a surrogate pair.
    static func ceilToScalar(_ index: Int, in units: [UInt16]) -> Int {
        let clamped = min(max(index, 0), units.count)
        return splitsPair(clamped, in: units) ? clamped + 1 : clamped
    }

    /// The intersection of `offset..<offset+length` with `0..<count`, safe against overflow.
    static func clampedRange(offset: Int, length: Int, count: Int) -> Range<Int> {
        let start = min(max(offset, 0), count)
        let (sum, overflow) = offset.addingReportingOverflow(min(max(length, 0), count))
        let end = overflow ? count : min(max(sum, start), count)
        return start..<end
    }

    static func string<C: Collection>(_ units: C) -> String where C.Element == UInt16 {
        String(decoding: units, as: UTF16.self)
    }

    static func units(_ text: some StringProtocol) -> [UInt16] { Array(text.utf16) }

    static func isWhitespace(_ unit: UInt16) -> Bool {
        switch unit {
        case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0xA0, 0x2028, 0x2029, 0x3000: true
        case 0x2000...0x200A: true
        default: false
        }
    }

    static func isNewline(_ unit: UInt16) -> Bool { unit == 0x0A }

    /// ASCII letters and digits; the `\w` of JavaScript regexes (minus `_`), which Discord's parser uses.
    static func isASCIIAlphanumeric(_ unit: UInt16) -> Bool {
        (0x30...0x39).contains(unit) || (0x41...0x5A).contains(unit) || (0x61...0x7A).contains(unit)
    }
}

/// ASCII code units used by the markup code, so comparisons read as characters.
enum Unit {
    static let newline: UInt16 = 0x0A
    static let space: UInt16 = 0x20
    static let tab: UInt16 = 0x09
    static let backslash: UInt16 = 0x5C
    static let asterisk: UInt16 = 0x2A
    static let underscore: UInt16 = 0x5F
    static let tilde: UInt16 = 0x7E
    static let backtick: UInt16 = 0x60
    static let pipe: UInt16 = 0x7C
    static let greaterThan: UInt16 = 0x3E
    static let lessThan: UInt16 = 0x3C
    static let hash: UInt16 = 0x23
    static let hyphen: UInt16 = 0x2D
    static let plus: UInt16 = 0x2B
    static let openBracket: UInt16 = 0x5B
    static let closeBracket: UInt16 = 0x5D
    static let openParen: UInt16 = 0x28
    static let closeParen: UInt16 = 0x29
    static let at: UInt16 = 0x40
    static let colon: UInt16 = 0x3A
    static let period: UInt16 = 0x2E
    static let exclamation: UInt16 = 0x21
    static let question: UInt16 = 0x3F
    static let zeroWidthSpace: UInt16 = 0x200B

    static func of(_ scalar: Unicode.Scalar) -> UInt16 { UInt16(truncatingIfNeeded: scalar.value) }
}

extension String {
    /// The text covered by a UTF-16 range, clamped to the string and widened so that it never
    /// splits a surrogate pair (a start inside a pair moves back, an end inside a pair moves forward).
    public func utf16Substring(offset: Int, length: Int) -> String {
        let units = UTF16Text.units(self)
        let range = UTF16Text.clampedRange(offset: offset, length: length, count: units.count)
        guard !range.isEmpty else { return "" }
        let start = UTF16Text.floorToScalar(range.lowerBound, in: units)
        let end = UTF16Text.ceilToScalar(range.upperBound, in: units)
        return UTF16Text.string(units[start..<end])
    }

    /// The text covered by `entity`, with the same clamping as `utf16Substring(offset:length:)`.
    public func covered(by entity: MessageEntity) -> String {
        utf16Substring(offset: entity.offset, length: entity.length)
    }
}
