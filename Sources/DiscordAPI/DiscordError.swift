/// A Discord answer other than 2xx, a local rate-limit hold, or no answer.
public struct DiscordError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Wait `retryAfter` seconds (429 from Discord, or a bucket we know is empty).
        case rateLimited(retryAfter: Double, global: Bool)
        case rejected
        case server
        case network
    }

    public let kind: Kind
    public let status: Int
    /// Discord's JSON error code (10003 Unknown Channel, 50013 Missing Permissions, …).
    public let code: Int
    public let message: String

    public init(kind: Kind, status: Int, code: Int = 0, message: String) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String {
        status > 0 ? "Discord \(status)\(code > 0 ? " (\(code))" : ""): \(message)" : "Discord unreachable: \(message)"
    }

    /// The destination is gone or forbids us: unknown channel/webhook/guild, missing access or
    /// permissions, a revoked token. Retrying cannot help.
    public var isTargetGone: Bool {
        guard kind == .rejected else { return false }
        return status == 401 || status == 403 || [10003, 10004, 10015, 50001, 50013].contains(code)
            || (status == 404 && code == 0)
    }
}
