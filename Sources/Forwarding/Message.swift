import Foundation

/// The chat platforms AutoForwardX bridges.
public enum Platform: String, Codable, Sendable, CaseIterable {
    case telegram, discord
}

/// A platform-neutral message: plain text plus formatting entities, media and a reply reference.
///
/// Every renderer and transform in this module works on this value; platform markup only
/// exists at the edges (`TelegramHTML`, `DiscordMarkdown`).
public struct Message: Codable, Sendable, Equatable {
    /// Plain text, without any markup.
    public var text: String
    /// Formatting over `text`; offsets and lengths count UTF-16 code units, as Telegram does.
    public var entities: [MessageEntity]
    /// Empty, a single item, or an album (2-10 items).
    public var media: [Media]
    /// Id of the replied-to message in the *source* chat; the delivery layer maps it to the copy.
    public var replyToMessageID: Int64?
    /// A one-line quote of the replied-to message ("Name: text…"), for destinations that
    /// cannot thread a reply (Discord webhooks).
    public var replyQuote: String?
    public var author: Author?

    public init(
        text: String = "", entities: [MessageEntity] = [], media: [Media] = [],
        replyToMessageID: Int64? = nil, replyQuote: String? = nil, author: Author? = nil
    ) {
        self.text = text
        self.entities = entities
        self.media = media
        self.replyToMessageID = replyToMessageID
        self.replyQuote = replyQuote
        self.author = author
    }
}

extension Message {
    private enum CodingKeys: String, CodingKey {
        case text, entities, media, replyToMessageID, replyQuote, author
    }

    /// Missing keys take their defaults, so payloads stored by older versions (or written by
    /// hand in tests) still decode.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            text: try container.decodeIfPresent(String.self, forKey: .text) ?? "",
            entities: try container.decodeIfPresent([MessageEntity].self, forKey: .entities) ?? [],
            media: try container.decodeIfPresent([Media].self, forKey: .media) ?? [],
            replyToMessageID: try container.decodeIfPresent(Int64.self, forKey: .replyToMessageID),
            replyQuote: try container.decodeIfPresent(String.self, forKey: .replyQuote),
            author: try container.decodeIfPresent(Author.self, forKey: .author))
    }
}

/// Who sent a message, as far as the source platform tells.
public struct Author: Codable, Sendable, Equatable {
    public var displayName: String
    public var username: String?
    public var avatarURL: String?

    public init(displayName: String, username: String? = nil, avatarURL: String? = nil) {
        self.displayName = displayName
        self.username = username
        self.avatarURL = avatarURL
    }
}

extension Message {
    /// True when there is nothing to deliver: no media and no visible text.
    ///
    /// Whitespace-only text counts as empty because both platforms reject it.
    public var isEmpty: Bool {
        media.isEmpty && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    /// Length of `text` in UTF-16 code units, the unit entity offsets use.
    public var utf16Length: Int { text.utf16.count }
}
