import Foundation

public struct DiscordUser: Codable, Sendable, Equatable {
    public var id: String
    public var username: String
    public var globalName: String?
    public var bot: Bool?
    public var avatar: String?

    public var displayName: String { globalName ?? username }
}

public struct DiscordAttachment: Codable, Sendable, Equatable {
    public var id: String
    public var filename: String
    public var size: Int?
    public var url: String?
    public var contentType: String?
}

public struct DiscordMessageReference: Codable, Sendable, Equatable {
    public var messageId: String?
    public var channelId: String?
    public var failIfNotExists: Bool?

    public init(messageId: String?, channelId: String? = nil, failIfNotExists: Bool? = false) {
        self.messageId = messageId
        self.channelId = channelId
        self.failIfNotExists = failIfNotExists
    }
}

public struct DiscordAllowedMentions: Codable, Sendable, Equatable {
    public var parse: [String]
    public var repliedUser: Bool?

    /// Nothing pings: bridged text must never mention anyone on the destination.
    public static let none = DiscordAllowedMentions(parse: [], repliedUser: false)
}

public struct DiscordMessage: Codable, Sendable, Equatable {
    public var id: String
    public var channelId: String
    public var content: String
    public var author: DiscordUser?
    public var webhookId: String?
    public var attachments: [DiscordAttachment]?
    public var messageReference: DiscordMessageReference?
}

/// The answer to a create (bot message or webhook execution), read only for the new message's
/// id: decoding the whole message (author, attachments, embeds, snake-case keys) took 4 % of the
/// gateway's CPU in `afx bench e2e`, and delivery needs only the id.
public struct DiscordCreatedMessage: Decodable, Sendable, Equatable {
    public var id: String
}

/// An upload reference in `attachments` for a `files[n]` part.
public struct DiscordUploadAttachment: Codable, Sendable, Equatable {
    public var id: Int
    public var filename: String
}

/// Create Message / Execute Webhook / Edit bodies (fields a bot and a webhook share).
public struct DiscordMessageBody: Codable, Sendable, Equatable {
    public var content: String?
    public var nonce: String?
    public var enforceNonce: Bool?
    public var allowedMentions: DiscordAllowedMentions?
    public var messageReference: DiscordMessageReference?
    public var attachments: [DiscordUploadAttachment]?
    /// Webhooks only: shown as the author.
    public var username: String?
    public var avatarUrl: String?

    public init(content: String? = nil, allowedMentions: DiscordAllowedMentions? = DiscordAllowedMentions.none) {
        self.content = content
        self.allowedMentions = allowedMentions
    }
}

/// A file to upload with a message.
public struct DiscordFile: Sendable {
    public let filename: String
    public let contentType: String?
    public let data: Data

    public init(filename: String, contentType: String?, data: Data) {
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }
}

extension JSONDecoder {
    public static var discord: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

extension JSONEncoder {
    public static var discord: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}
