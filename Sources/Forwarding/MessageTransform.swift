import Foundation

/// Applies a pair's `PairOptions` to a message on its way to the target chat.
public enum MessageTransform {
    /// The transformed message, or nil when it is filtered out.
    ///
    /// In order: keyword include/exclude (on the original text), regex replacements, strip links,
    /// strip mentions, media off, sender line, header, footer. Entities follow every edit (see
    /// `TextEdit`). A message left with no text and no media before the sender/header/footer step
    /// is dropped too, so a pair never posts just a header. With `forwardRepliesAsReplies` off the
    /// reply reference is cleared; `forwardEdits` is for the pipeline and not looked at here.
    public static func apply(_ options: PairOptions, to message: Message) -> Message? {
        guard passesKeywords(options, text: message.text) else { return nil }
        var result = message
        for rule in options.regexReplacements {
            result = replacing(rule, in: result)
        }
        if options.stripLinks { result = TextStripping.strippingLinks(result) }
        if options.stripMentions { result = TextStripping.strippingMentions(result) }
        if !options.includeMedia { result.media = [] }
        if !options.forwardRepliesAsReplies { result.replyToMessageID = nil }
        guard !result.isEmpty else { return nil }
        if options.showSender, let name = senderName(result.author) {
            result = prepending(name + ":", to: result, bold: true)
        }
        if let header = options.header, !header.isEmpty {
            result = prepending(header, to: result, bold: false)
        }
        if let footer = options.footer, !footer.isEmpty {
            let separator = result.text.isEmpty ? "" : "\n"
            result = result.applying([.insert(separator + footer, at: result.utf16Length)])
        }
        return result
    }

    /// Case-insensitive substring tests on the whole text; empty keywords are ignored.
    static func passesKeywords(_ options: PairOptions, text: String) -> Bool {
        func occurs(_ keyword: String) -> Bool {
            !keyword.isEmpty && text.range(of: keyword, options: [.caseInsensitive]) != nil
        }
        let include = options.includeKeywords.filter { !$0.isEmpty }
        if !include.isEmpty, !include.contains(where: occurs) { return false }
        return !options.excludeKeywords.contains(where: occurs)
    }

    /// All matches of one rule replaced at once; an invalid pattern (rejected by `validate()`)
    /// leaves the message unchanged rather than failing delivery.
    static func replacing(_ rule: RegexReplacement, in message: Message) -> Message {
        guard let regex = rule.compiled() else { return message }
        let text = message.text
        let matches = regex.matches(in: text, range: NSRange(location: 0, length: text.utf16.count))
        guard !matches.isEmpty else { return message }
        let edits = matches.map { match in
            TextEdit(
                range: match.range.location..<(match.range.location + match.range.length),
                replacement: regex.replacementString(for: match, in: text, offset: 0, template: rule.replacement))
        }
        return message.applying(edits)
    }

    private static func senderName(_ author: Author?) -> String? {
        guard let author else { return nil }
        let name = author.displayName.trimmingCharacters(in: .whitespacesAndNewlines)
        if !name.isEmpty { return name }
        if let username = author.username, !username.isEmpty { return "@" + username }
        return nil
    }

    /// Puts `line` on its own line above the text (plain, or entirely bold).
    private static func prepending(_ line: String, to message: Message, bold: Bool) -> Message {
        let separator = message.text.isEmpty ? "" : "\n"
        var result = message.applying([.insert(line + separator, at: 0)])
        if bold {
            result.entities.insert(MessageEntity(kind: .bold, offset: 0, length: line.utf16.count), at: 0)
        }
        return result
    }
}
