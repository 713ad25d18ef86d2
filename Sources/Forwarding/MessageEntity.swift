/// A formatting span over a message's text, modelled on Telegram's `MessageEntity`.
///
/// `offset` and `length` count UTF-16 code units (an emoji outside the BMP counts 2).
public struct MessageEntity: Codable, Sendable, Equatable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case bold, italic, underline, strikethrough, spoiler, code, pre, textLink, url, email, phoneNumber,
            mention, hashtag, cashtag, botCommand, blockquote, expandableBlockquote, textMention, customEmoji
    }

    public var kind: Kind
    public var offset: Int
    public var length: Int
    /// Target of a `textLink`.
    public var url: String?
    /// Programming language of a `pre` block.
    public var language: String?
    /// The mentioned user of a `textMention`.
    public var userID: Int64?
    /// Sticker id of a `customEmoji`; the covered text is its fallback emoji.
    public var customEmojiID: String?

    public init(
        kind: Kind, offset: Int, length: Int, url: String? = nil, language: String? = nil,
        userID: Int64? = nil, customEmojiID: String? = nil
    ) {
        self.kind = kind
        self.offset = offset
        self.length = length
        self.url = url
        self.language = language
        self.userID = userID
        self.customEmojiID = customEmojiID
    }

    /// One past the last covered UTF-16 unit (saturating, since offsets may come from untrusted JSON).
    public var end: Int {
        let (sum, overflow) = offset.addingReportingOverflow(length)
        return overflow ? (length > 0 ? Int.max : Int.min) : sum
    }

    /// The covered UTF-16 range.
    public var range: Range<Int> { offset..<max(offset, end) }
}

extension MessageEntity.Kind {
    /// Maps a Telegram Bot API entity `type` (`"text_link"`, `"bot_command"`, ...); nil for types
    /// this module does not model (e.g. `"bank_card"`), which callers should drop.
    public init?(telegramType: String) {
        guard let kind = Self.byTelegramType[telegramType] else { return nil }
        self = kind
    }

    /// The Telegram Bot API entity `type` for this kind.
    public var telegramType: String {
        switch self {
        case .textLink: "text_link"
        case .phoneNumber: "phone_number"
        case .botCommand: "bot_command"
        case .textMention: "text_mention"
        case .customEmoji: "custom_emoji"
        case .expandableBlockquote: "expandable_blockquote"
        default: rawValue
        }
    }

    /// Kinds Telegram detects by itself in plain text; renderers emit them as plain text.
    public var isAutoDetected: Bool {
        switch self {
        case .url, .email, .phoneNumber, .mention, .hashtag, .cashtag, .botCommand: true
        default: false
        }
    }

    private static let byTelegramType: [String: Self] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.telegramType, $0) })
}
