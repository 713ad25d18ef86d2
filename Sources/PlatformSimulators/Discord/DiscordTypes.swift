public import Foundation

extension DiscordSimulator {
    public struct Attachment: Sendable, Equatable {
        public var id: String
        public var filename: String
        public var size: Int
        public var contentType: String?
        public var description: String?
        public var bytes: Data
        /// Served by the simulator (`<base>/attachments/<channel>/<id>/<filename>`).
        public var url: String
    }

    public struct MessageReference: Sendable, Equatable {
        public var messageID: String
        public var channelID: String
        public var guildID: String?
        /// As the client sent it (nil = absent, which Discord treats as true).
        public var failIfNotExists: Bool?
    }

    /// The content a message had before one edit.
    public struct Edit: Sendable, Equatable {
        public var content: String
        public var embeds: [SimulatorJSON]
        public var attachments: [Attachment]
        public var replacedAt: Date
    }

    /// A message in a channel: posted by a bot, through a webhook, or injected by the test.
    public struct PostedMessage: Sendable, Equatable {
        public var id: String
        /// The channel it lives in (the thread for webhook posts with thread_id).
        public var channelID: String
        public var authorID: String
        public var content: String
        /// The webhook post's username override.
        public var username: String?
        public var avatarURL: String?
        public var webhookID: String?
        public var attachments: [Attachment]
        public var embeds: [SimulatorJSON]
        public var messageReference: MessageReference?
        /// A string or an integer, as sent.
        public var nonce: SimulatorJSON?
        public var enforceNonce: Bool
        /// The allowed_mentions object as sent.
        public var allowedMentions: SimulatorJSON?
        public var stickerIDs: [String]
        public var tts: Bool
        public var flags: Int
        public var timestamp: Date
        public var editedTimestamp: Date?
        /// Earlier versions, oldest first.
        public var edits: [Edit]
        public var deleted: Bool
        public var isInjected: Bool
        public var isEdited: Bool { !edits.isEmpty }
    }

    /// One API request as the simulator answered it.
    public struct Request: Sendable, Equatable {
        public var method: String
        /// The route template without the /api/v10 prefix, e.g. "/channels/{channel.id}/messages";
        /// the raw path when no route matched.
        public var route: String
        public var path: String
        public var status: Int
        public var channelID: String?
        public var webhookID: String?
    }
}

/// A failure the Discord simulator answers instead of handling a request.
public enum DiscordFailure: Sendable, Equatable {
    /// 429 with retry_after; `global` sets X-RateLimit-Global and scope "global", else scope "user".
    case rateLimited(retryAfter: Double, global: Bool)
    /// 429 with X-RateLimit-Scope "shared" (a per-resource limit shared by all users).
    case sharedRateLimited(retryAfter: Double)
    /// Any JSON error: `{"message": message, "code": code}` with this status.
    case httpError(status: Int, code: Int, message: String)
    /// 500 answers `{"message":"500: Internal Server Error","code":0}`; 502/503/504 answer the HTML
    /// page of the proxy in front of the API.
    case serverError(status: Int)
}
