import Foundation

// The parts of the Bot API's types a forwarder reads. Unknown fields are ignored on decode.

public struct TelegramUser: Codable, Sendable, Equatable {
    public var id: Int64
    public var isBot: Bool?
    public var firstName: String
    public var lastName: String?
    public var username: String?

    public var displayName: String {
        [firstName, lastName ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
    }
}

public struct TelegramChat: Codable, Sendable, Equatable {
    public var id: Int64
    public var type: String
    public var title: String?
    public var username: String?
    public var firstName: String?
}

public struct TelegramEntity: Codable, Sendable, Equatable {
    public var type: String
    public var offset: Int
    public var length: Int
    public var url: String?
    public var user: TelegramUser?
    public var language: String?
    public var customEmojiId: String?

    public init(
        type: String, offset: Int, length: Int, url: String? = nil, user: TelegramUser? = nil,
        language: String? = nil, customEmojiId: String? = nil
    ) {
        self.type = type
        self.offset = offset
        self.length = length
        self.url = url
        self.user = user
        self.language = language
        self.customEmojiId = customEmojiId
    }
}

public struct TelegramPhotoSize: Codable, Sendable, Equatable {
    public var fileId: String
    public var fileUniqueId: String
    public var width: Int
    public var height: Int
    public var fileSize: Int?
}

/// Document, video, audio, voice, animation and sticker share these fields.
public struct TelegramFileObject: Codable, Sendable, Equatable {
    public var fileId: String
    public var fileUniqueId: String
    public var fileName: String?
    public var mimeType: String?
    public var fileSize: Int?
    public var emoji: String?
}

public struct TelegramMessage: Codable, Sendable, Equatable {
    public var messageId: Int64
    public var from: TelegramUser?
    public var senderChat: TelegramChat?
    public var chat: TelegramChat
    public var date: Int64
    public var editDate: Int64?
    public var mediaGroupId: String?
    public var authorSignature: String?
    public var text: String?
    public var entities: [TelegramEntity]?
    public var caption: String?
    public var captionEntities: [TelegramEntity]?
    public var photo: [TelegramPhotoSize]?
    public var video: TelegramFileObject?
    public var document: TelegramFileObject?
    public var audio: TelegramFileObject?
    public var voice: TelegramFileObject?
    public var animation: TelegramFileObject?
    public var sticker: TelegramFileObject?
    public var replyToMessage: TelegramReplied?
    public var migrateToChatId: Int64?
    public var hasProtectedContent: Bool?
}

/// `reply_to_message` nests a full message; only its id is needed.
/// The replied-to message inside a message: its id, and enough to quote it.
public struct TelegramReplied: Codable, Sendable, Equatable {
    public var messageId: Int64
    public var text: String?
    public var caption: String?
    public var from: TelegramUser?
    public var senderChat: TelegramChat?
}

public struct TelegramUpdate: Codable, Sendable {
    public var updateId: Int64
    public var message: TelegramMessage?
    public var editedMessage: TelegramMessage?
    public var channelPost: TelegramMessage?
    public var editedChannelPost: TelegramMessage?

    public enum Kind: String, Sendable {
        case message, editedMessage = "edited_message", channelPost = "channel_post"
        case editedChannelPost = "edited_channel_post"

        public var isEdit: Bool { self == .editedMessage || self == .editedChannelPost }
    }

    /// The forwardable message this update carries, if any.
    public var forwardable: (kind: Kind, message: TelegramMessage)? {
        if let message { return (.message, message) }
        if let channelPost { return (.channelPost, channelPost) }
        if let editedMessage { return (.editedMessage, editedMessage) }
        if let editedChannelPost { return (.editedChannelPost, editedChannelPost) }
        return nil
    }

    /// The update types a forwarder subscribes to (setWebhook `allowed_updates`).
    public static let forwardedTypes = ["message", "edited_message", "channel_post", "edited_channel_post"]
}

public struct TelegramFile: Codable, Sendable {
    public var fileId: String
    public var fileUniqueId: String
    public var fileSize: Int?
    public var filePath: String?
}

public struct TelegramMessageID: Codable, Sendable {
    public var messageId: Int64
}

public struct TelegramWebhookInfo: Codable, Sendable {
    public var url: String
    public var pendingUpdateCount: Int
    public var lastErrorDate: Int64?
    public var lastErrorMessage: String?
    public var allowedUpdates: [String]?
}

extension JSONDecoder {
    /// Bot API JSON: snake_case keys.
    public static var telegram: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

extension JSONEncoder {
    public static var telegram: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}
