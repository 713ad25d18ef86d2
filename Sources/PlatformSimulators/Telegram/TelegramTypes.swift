public import Foundation

extension TelegramSimulator {
    public enum ChatType: String, Sendable, CaseIterable {
        case `private`, group, supergroup, channel
    }

    public struct User: Sendable, Equatable, Hashable {
        public var id: Int64
        public var isBot: Bool
        public var firstName: String
        public var lastName: String?
        public var username: String?

        public init(id: Int64, isBot: Bool = false, firstName: String, lastName: String? = nil, username: String? = nil)
        {
            self.id = id
            self.isBot = isBot
            self.firstName = firstName
            self.lastName = lastName
            self.username = username
        }
    }

    /// A MessageEntity as the simulator parsed it (offsets and lengths in UTF-16 code units).
    public struct Entity: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// Bot API type name: bold, italic, underline, strikethrough, spoiler, code, pre, text_link,
        /// text_mention, custom_emoji, blockquote, expandable_blockquote, …
        public var type: String
        public var offset: Int
        public var length: Int
        public var url: String?
        public var language: String?
        /// For text_mention.
        public var userID: Int64?
        public var customEmojiID: String?

        public init(
            type: String, offset: Int, length: Int, url: String? = nil, language: String? = nil,
            userID: Int64? = nil, customEmojiID: String? = nil
        ) {
            self.type = type
            self.offset = offset
            self.length = length
            self.url = url
            self.language = language
            self.userID = userID
            self.customEmojiID = customEmojiID
        }

        public var description: String {
            var text = "\(type)@\(offset)+\(length)"
            if let url { text += " \(url)" }
            if let language { text += " lang=\(language)" }
            if let userID { text += " user=\(userID)" }
            if let customEmojiID { text += " emoji=\(customEmojiID)" }
            return text
        }
    }

    public enum MessageKind: String, Sendable, CaseIterable {
        case text, photo, video, document, audio, voice, animation, sticker
    }

    /// A file the client uploaded in a multipart request.
    public struct Upload: Sendable, Equatable {
        public var filename: String?
        public var contentType: String?
        public var bytes: Data
        public var size: Int { bytes.count }
    }

    public struct MessageReference: Sendable, Equatable, Hashable {
        public var chatID: Int64
        public var messageID: Int
    }

    /// The content a message had before one edit.
    public struct Edit: Sendable, Equatable {
        public var text: String?
        public var entities: [Entity]
        public var rawText: String?
        public var parseMode: String?
        /// When the edit that replaced this content happened.
        public var replacedAt: Date
    }

    /// A message in a chat's history: sent by a bot through the API, or injected by the test.
    public struct SentMessage: Sendable, Equatable {
        public var chatID: Int64
        public var messageID: Int
        public var date: Date
        /// The bot that sent it; nil for injected (user) messages.
        public var senderBotID: Int64?
        public var from: User?
        public var kind: MessageKind
        /// The text, or the caption of a media message, after entity parsing.
        public var text: String?
        public var entities: [Entity]
        /// The text or caption exactly as the client sent it (HTML/MarkdownV2 source).
        public var rawText: String?
        /// The parse_mode the client sent, as sent.
        public var parseMode: String?
        public var replyToMessageID: Int?
        public var mediaGroupID: String?
        /// The file_id or URL the client passed (nil for uploads).
        public var fileReference: String?
        /// The file_id the simulator answered with (a new one for uploads and URLs).
        public var fileID: String?
        public var upload: Upload?
        public var copiedFrom: MessageReference?
        public var messageThreadID: Int?
        public var disableNotification: Bool
        public var linkPreviewOptions: SimulatorJSON?
        /// Earlier versions, oldest first.
        public var edits: [Edit]
        public var editDate: Date?
        public var deleted: Bool
        public var isInjected: Bool { senderBotID == nil }
        public var isEdited: Bool { !edits.isEmpty }
        public var uploadedByteCount: Int? { upload?.size }

        /// The source text when the client used parse_mode HTML.
        public var rawHTML: String? {
            parseMode?.lowercased() == "html" ? rawText : nil
        }
    }

    /// One API call as the simulator answered it.
    public struct Call: Sendable, Equatable {
        /// Canonical method name (e.g. "sendMessage") or the name as sent when unknown.
        public var method: String
        public var botToken: String
        public var chatID: Int64?
        public var status: Int
    }

    public struct Webhook: Sendable, Equatable {
        public var url: String
        public var secretToken: String?
        public var allowedUpdates: [String]?
        public var maxConnections: Int
        public var pendingUpdateCount: Int
        public var lastErrorDate: Date?
        public var lastErrorMessage: String?
    }
}

/// A failure the Telegram simulator answers instead of running a method.
public enum TelegramFailure: Sendable, Equatable {
    /// 429 with parameters.retry_after.
    case tooManyRequests(retryAfter: Int)
    /// 400; the text after "Bad Request: ".
    case badRequest(String)
    /// 403; the text after "Forbidden: ".
    case forbidden(String)
    /// 400 "group chat was upgraded to a supergroup chat" with parameters.migrate_to_chat_id.
    case migrate(toChatID: Int64)
    /// 500 answers JSON as the Bot API does; 502/503/504 answer the HTML page of the proxy in front.
    case serverError(status: Int)
}
