import Foundation

/// Per-pair filters and transforms, stored as JSON with the pair.
public struct PairOptions: Codable, Sendable, Equatable {
    /// Forward only if at least one occurs in the text (case-insensitive substring); empty means all.
    public var includeKeywords: [String]
    /// Drop the message if any occurs in the text (case-insensitive substring).
    public var excludeKeywords: [String]
    /// Applied in order, each to the result of the previous one.
    public var regexReplacements: [RegexReplacement]
    /// Remove URLs (text included) and the targets of text links (their text stays).
    public var stripLinks: Bool
    /// Remove @mentions, text mentions, Discord `<@id>`/`<@&id>` and `@everyone`/`@here`.
    public var stripMentions: Bool
    /// Plain-text line put above the message.
    public var header: String?
    /// Plain-text line put below the message.
    public var footer: String?
    /// Prepend a bold "Sender Name:" line.
    public var showSender: Bool
    /// Whether edits of a forwarded message are forwarded too (used by the delivery pipeline).
    public var forwardEdits: Bool
    /// Whether a reply is delivered as a reply to the copy of the replied-to message.
    public var forwardRepliesAsReplies: Bool
    public var includeMedia: Bool

    /// Validation limits, per list or per string (characters); shown to users in error messages.
    public static let maxKeywords = 50
    public static let maxKeywordLength = 100
    public static let maxRegexReplacements = 20
    public static let maxPatternLength = 500
    public static let maxReplacementLength = 500
    public static let maxHeaderFooterLength = 500

    public init(
        includeKeywords: [String] = [], excludeKeywords: [String] = [], regexReplacements: [RegexReplacement] = [],
        stripLinks: Bool = false, stripMentions: Bool = false, header: String? = nil, footer: String? = nil,
        showSender: Bool = false, forwardEdits: Bool = true, forwardRepliesAsReplies: Bool = true,
        includeMedia: Bool = true
    ) {
        self.includeKeywords = includeKeywords
        self.excludeKeywords = excludeKeywords
        self.regexReplacements = regexReplacements
        self.stripLinks = stripLinks
        self.stripMentions = stripMentions
        self.header = header
        self.footer = footer
        self.showSender = showSender
        self.forwardEdits = forwardEdits
        self.forwardRepliesAsReplies = forwardRepliesAsReplies
        self.includeMedia = includeMedia
    }

    private enum CodingKeys: String, CodingKey {
        case includeKeywords, excludeKeywords, regexReplacements, stripLinks, stripMentions, header, footer
        case showSender, forwardEdits, forwardRepliesAsReplies, includeMedia
    }

    /// Every key is optional: JSON stored by older versions lacks newer settings, which take
    /// their defaults. Unknown keys are ignored.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = PairOptions()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        includeKeywords = try value(.includeKeywords, defaults.includeKeywords)
        excludeKeywords = try value(.excludeKeywords, defaults.excludeKeywords)
        regexReplacements = try value(.regexReplacements, defaults.regexReplacements)
        stripLinks = try value(.stripLinks, defaults.stripLinks)
        stripMentions = try value(.stripMentions, defaults.stripMentions)
        header = try container.decodeIfPresent(String.self, forKey: .header)
        footer = try container.decodeIfPresent(String.self, forKey: .footer)
        showSender = try value(.showSender, defaults.showSender)
        forwardEdits = try value(.forwardEdits, defaults.forwardEdits)
        forwardRepliesAsReplies = try value(.forwardRepliesAsReplies, defaults.forwardRepliesAsReplies)
        includeMedia = try value(.includeMedia, defaults.includeMedia)
    }

    /// Throws the first problem found, naming its field.
    public func validate() throws(PairOptionsError) {
        try Self.validateKeywords(includeKeywords, field: "includeKeywords")
        try Self.validateKeywords(excludeKeywords, field: "excludeKeywords")
        if regexReplacements.count > Self.maxRegexReplacements {
            throw PairOptionsError(
                field: "regexReplacements", reason: "at most \(Self.maxRegexReplacements) rules are allowed")
        }
        for (index, rule) in regexReplacements.enumerated() {
            let field = "regexReplacements[\(index)]"
            if rule.pattern.isEmpty {
                throw PairOptionsError(field: "\(field).pattern", reason: "must not be empty")
            }
            if rule.pattern.count > Self.maxPatternLength {
                throw PairOptionsError(
                    field: "\(field).pattern", reason: "longer than \(Self.maxPatternLength) characters")
            }
            if rule.replacement.count > Self.maxReplacementLength {
                throw PairOptionsError(
                    field: "\(field).replacement", reason: "longer than \(Self.maxReplacementLength) characters")
            }
            if rule.compiled() == nil {
                throw PairOptionsError(field: "\(field).pattern", reason: "not a valid regular expression")
            }
        }
        for (field, text) in [("header", header), ("footer", footer)] {
            if let text, text.count > Self.maxHeaderFooterLength {
                throw PairOptionsError(field: field, reason: "longer than \(Self.maxHeaderFooterLength) characters")
            }
        }
    }

    private static func validateKeywords(_ keywords: [String], field: String) throws(PairOptionsError) {
        if keywords.count > maxKeywords {
            throw PairOptionsError(field: field, reason: "at most \(maxKeywords) keywords are allowed")
        }
        for (index, keyword) in keywords.enumerated() {
            if keyword.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw PairOptionsError(field: "\(field)[\(index)]", reason: "must not be empty")
            }
            if keyword.count > maxKeywordLength {
                throw PairOptionsError(
                    field: "\(field)[\(index)]", reason: "longer than \(maxKeywordLength) characters")
            }
        }
    }
}

extension RegexReplacement {
    /// The compiled pattern, or nil if it is not a valid ICU regular expression.
    func compiled() -> NSRegularExpression? {
        try? NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
    }
}
