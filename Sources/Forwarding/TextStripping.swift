import Foundation

/// Removal of links and mentions for `PairOptions.stripLinks` / `stripMentions`.
enum TextStripping {
    /// Bare URLs; trailing punctuation is left out as it usually ends the sentence. Compiled per
    /// use rather than cached in a static, which strict concurrency would need proven Sendable.
    private static func urlPattern() -> NSRegularExpression? {
        try? NSRegularExpression(
            pattern: #"(?:https?://|www\.)[^\s<>]*[^\s<>.,;:!?'")\]}]"#, options: [.caseInsensitive])
    }

    static func strippingLinks(_ message: Message) -> Message {
        var ranges = message.entities.filter { $0.kind == .url }.map(\.range)
        ranges += matches(of: urlPattern(), in: message.text)
        var result = removing(ranges, from: message)
        result.entities.removeAll { $0.kind == .textLink }
        return result
    }

    static func strippingMentions(_ message: Message) -> Message {
        var ranges = message.entities.filter { $0.kind == .mention || $0.kind == .textMention }.map(\.range)
        ranges += DiscordMarkdown.mentions(in: message.text).filter { $0.kind != .channel }.map(\.range)
        let units = UTF16Text.units(message.text)
        for index in units.indices {
            // "@hereford" is not a ping: the word must end there.
            if let ping = DiscordSyntax.massPing(at: index, in: units, end: units.count),
                index + ping.length == units.count || !DiscordSyntax.isWordUnit(units[index + ping.length])
            {
                ranges.append(index..<(index + ping.length))
            }
        }
        return removing(ranges, from: message)
    }

    private static func matches(of regex: NSRegularExpression?, in text: String) -> [Range<Int>] {
        guard let regex else { return [] }
        return regex.matches(in: text, range: NSRange(location: 0, length: text.utf16.count)).map {
            $0.range.location..<($0.range.location + $0.range.length)
        }
    }

    /// Deletes the ranges (merged where they overlap) and one adjacent space, so that
    /// "see https://x now" becomes "see now" rather than "see  now".
    static func removing(_ ranges: [Range<Int>], from message: Message) -> Message {
        let units = UTF16Text.units(message.text)
        var merged: [Range<Int>] = []
        for range in ranges.map({ $0.clamped(to: 0..<units.count) }).filter({ !$0.isEmpty })
            .sorted(by: { $0.lowerBound < $1.lowerBound })
        {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        var edits: [TextEdit] = []
        var consumedUpTo = 0
        for range in merged {
            var lower = range.lowerBound
            var upper = range.upperBound
            let spaceBefore = lower > consumedUpTo && units[lower - 1] == Unit.space
            let spaceAfter = upper < units.count && units[upper] == Unit.space
            let atLineStart = lower == 0 || units[lower - 1] == Unit.newline
            let atLineEnd = upper == units.count || units[upper] == Unit.newline
            if spaceBefore && (spaceAfter || atLineEnd || isClosingPunctuation(units, upper)) {
                lower -= 1
            } else if spaceAfter && atLineStart {
                upper += 1
            }
            edits.append(.delete(lower..<upper))
            consumedUpTo = upper
        }
        return message.applying(edits)
    }

    private static func isClosingPunctuation(_ units: [UInt16], _ index: Int) -> Bool {
        index < units.count && Set(".,;:!?)".utf16).contains(units[index])
    }
}
