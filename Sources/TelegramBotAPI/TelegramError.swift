import Foundation

/// An answer other than `ok: true`, or no answer at all.
public struct TelegramError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// 429: wait `retryAfter` seconds.
        case rateLimited(retryAfter: Int)
        /// The group became a supergroup with a new id.
        case migrated(toChatID: Int64)
        /// 400, 401, 403, 404, 409: the request itself is wrong or not allowed.
        case rejected
        /// 5xx.
        case server
        /// No HTTP answer (connection, timeout) or an unreadable one.
        case network
    }

    public let kind: Kind
    /// Telegram's error_code (the HTTP status), 0 when there was no answer.
    public let code: Int
    public let message: String

    public init(kind: Kind, code: Int, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { code > 0 ? "Telegram \(code): \(message)" : "Telegram unreachable: \(message)" }

    /// Retrying cannot help: the chat is gone, the bot was removed or lacks rights, the token is
    /// revoked. (Malformed-request 400s are bugs of ours and are reported, not retried forever.)
    public var isPermanent: Bool {
        guard kind == .rejected else { return false }
        return code == 401 || code == 403 || code == 400
    }

    /// 400s that mean the target (not our request) is gone.
    public var isTargetGone: Bool {
        let text = message.lowercased()
        return code == 403 || text.contains("chat not found") || text.contains("bot was kicked")
            || text.contains("not enough rights") || text.contains("have no rights")
            || text.contains("chat_write_forbidden")
            || text.contains("need administrator rights") || text.contains("bot is not a member")
    }
}
