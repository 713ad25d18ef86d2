import Foundation

// Parameters of the methods the forwarder calls, encoded as snake_case JSON.

public struct ReplyParameters: Codable, Sendable, Equatable {
    public var messageId: Int64
    public var chatId: Int64?
    public var allowSendingWithoutReply: Bool?

    public init(messageId: Int64, chatId: Int64? = nil, allowSendingWithoutReply: Bool? = true) {
        self.messageId = messageId
        self.chatId = chatId
        self.allowSendingWithoutReply = allowSendingWithoutReply
    }
}

public struct SendMessage: Encodable, Sendable {
    public var chatId: Int64
    public var text: String
    public var parseMode: String?
    public var replyParameters: ReplyParameters?
    public var linkPreviewOptions: [String: Bool]?
    public var disableNotification: Bool?

    public init(chatId: Int64, text: String, parseMode: String? = "HTML", replyParameters: ReplyParameters? = nil) {
        self.chatId = chatId
        self.text = text
        self.parseMode = parseMode
        self.replyParameters = replyParameters
    }
}

public struct CopyMessage: Encodable, Sendable {
    public var chatId: Int64
    public var fromChatId: Int64
    public var messageId: Int64
    public var caption: String?
    public var parseMode: String?
    public var replyParameters: ReplyParameters?

    public init(
        chatId: Int64, fromChatId: Int64, messageId: Int64, caption: String? = nil, parseMode: String? = nil,
        replyParameters: ReplyParameters? = nil
    ) {
        self.chatId = chatId
        self.fromChatId = fromChatId
        self.messageId = messageId
        self.caption = caption
        self.parseMode = parseMode
        self.replyParameters = replyParameters
    }
}

public struct EditMessageText: Encodable, Sendable {
    public var chatId: Int64
    public var messageId: Int64
    public var text: String
    public var parseMode: String?

    public init(chatId: Int64, messageId: Int64, text: String, parseMode: String? = "HTML") {
        self.chatId = chatId
        self.messageId = messageId
        self.text = text
        self.parseMode = parseMode
    }
}

public struct EditMessageCaption: Encodable, Sendable {
    public var chatId: Int64
    public var messageId: Int64
    public var caption: String
    public var parseMode: String?

    public init(chatId: Int64, messageId: Int64, caption: String, parseMode: String? = "HTML") {
        self.chatId = chatId
        self.messageId = messageId
        self.caption = caption
        self.parseMode = parseMode
    }
}

public struct DeleteMessage: Encodable, Sendable {
    public var chatId: Int64
    public var messageId: Int64

    public init(chatId: Int64, messageId: Int64) {
        self.chatId = chatId
        self.messageId = messageId
    }
}

public struct SetWebhook: Encodable, Sendable {
    public var url: String
    public var secretToken: String
    public var allowedUpdates: [String]
    public var maxConnections: Int?
    public var dropPendingUpdates: Bool?

    public init(
        url: String, secretToken: String, allowedUpdates: [String] = TelegramUpdate.forwardedTypes,
        maxConnections: Int? = 40
    ) {
        self.url = url
        self.secretToken = secretToken
        self.allowedUpdates = allowedUpdates
        self.maxConnections = maxConnections
    }
}

public struct GetUpdates: Encodable, Sendable {
    public var offset: Int64?
    public var limit: Int?
    public var timeout: Int?
    public var allowedUpdates: [String]?

    public init(
        offset: Int64?, limit: Int = 100, timeout: Int = 25,
        allowedUpdates: [String] = TelegramUpdate.forwardedTypes
    ) {
        self.offset = offset
        self.limit = limit
        self.timeout = timeout
        self.allowedUpdates = allowedUpdates
    }
}

/// One item of `sendMediaGroup`'s `media` array.
public struct InputMedia: Encodable, Sendable {
    public var type: String
    /// A file_id, an http(s) URL, or `attach://<part name>` for an uploaded part.
    public var media: String
    public var caption: String?
    public var parseMode: String?

    public init(type: String, media: String, caption: String? = nil, parseMode: String? = nil) {
        self.type = type
        self.media = media
        self.caption = caption
        self.parseMode = parseMode
    }
}

struct FileIDParameter: Encodable {
    var fileId: String
}

struct NoParameters: Encodable {}
