import Crypto
import Foundation

/// Everything the Discord simulator knows, behind one Mutex in `DiscordSimulator`.
struct DiscordState: Sendable {
    struct Bot: Sendable {
        var token: String
        var userID: String
        var applicationID: String
        var username: String
    }

    struct Channel: Sendable {
        var id: String
        var guildID: String?
        var name: String
        /// For threads: the channel they belong to.
        var parentID: String?
        var type: Int
        var order: [String] = []
    }

    struct Webhook: Sendable {
        var id: String
        var token: String
        var channelID: String
        var name: String
    }

    struct FailureRule: Sendable {
        var remaining: Int
        /// Normalized "METHOD /path/{}" template; nil matches any.
        var route: String?
        var channelID: String?
        var failure: DiscordFailure
    }

    struct NonceKey: Sendable, Hashable {
        var authorID: String
        var channelID: String
        var nonce: String
    }

    struct PermissionKey: Sendable, Hashable {
        var token: String
        var channelID: String
    }

    struct User: Sendable {
        var id: String
        var username: String
        var globalName: String?
    }

    struct Role: Sendable {
        var id: String
        var guildID: String
        var name: String
    }

    var bots: [String: Bot] = [:]
    var users: [String: User] = [:]
    var roles: [String: Role] = [:]
    /// Message events for the Gateway, noted by `store` and sent by `flushGateway`.
    /// Interaction signing keys by application id.
    var applicationKeys: [String: Curve25519.Signing.PrivateKey] = [:]
    /// Interaction tokens handed out, and their application.
    var interactionTokens: [String: String] = [:]
    var originalResponses: [String: [SimulatorJSON]] = [:]
    var commands: [String: [SimulatorJSON]] = [:]
    var gatewayOutbox: [(event: String, messageID: String)] = []
    var channels: [String: Channel] = [:]
    var webhooks: [String: Webhook] = [:]
    var messages: [String: DiscordSimulator.PostedMessage] = [:]
    /// Messages created through the API (not injected), for a count that reads no message.
    var created = 0
    var denied: Set<PermissionKey> = []
    var failures: [FailureRule] = []
    var requests: [DiscordSimulator.Request] = []
    var rateLimiter = DiscordRateLimiter()
    /// Nonces seen with enforce_nonce, and the message each one created.
    var nonces: [NonceKey: (messageID: String, at: Date)] = [:]
    var snowflakes = SnowflakeGenerator()
    var clockOffset: TimeInterval = 0
    var baseURL = ""

    var now: Date { Date().addingTimeInterval(clockOffset) }

    /// Normalizes "POST /channels/{id}/messages", "/api/v10/…" or "{channel.id}" spellings.
    static func normalizedRoute(_ route: String) -> String {
        var text = route.trimmingASCIISpaces()
        var method = ""
        if let space = text.firstIndex(of: " ") {
            method = text[..<space].uppercased() + " "
            text = String(text[text.index(after: space)...]).trimmingASCIISpaces()
        }
        if text.hasPrefix("/api/v10") { text = String(text.dropFirst("/api/v10".count)) }
        let segments = text.split(separator: "/").map { $0.hasPrefix("{") ? "{}" : String($0) }
        return method + "/" + segments.joined(separator: "/")
    }

    mutating func takeFailure(route: String, channelID: String?) -> DiscordFailure? {
        let normalized = Self.normalizedRoute(route)
        let path = normalized.split(separator: " ", maxSplits: 1).last.map(String.init) ?? normalized
        guard
            let index = failures.firstIndex(where: { rule in
                let routeMatches = rule.route.map { $0 == normalized || (!$0.contains(" ") && $0 == path) } ?? true
                return routeMatches && (rule.channelID == nil || rule.channelID == channelID)
            })
        else { return nil }
        let failure = failures[index].failure
        failures[index].remaining -= 1
        if failures[index].remaining <= 0 { failures.remove(at: index) }
        return failure
    }

    mutating func store(_ message: DiscordSimulator.PostedMessage) {
        if let previous = messages[message.id] {
            if message.deleted && !previous.deleted {
                gatewayOutbox.append(("MESSAGE_DELETE", message.id))
            } else if !message.deleted && message.editedTimestamp != previous.editedTimestamp {
                gatewayOutbox.append(("MESSAGE_UPDATE", message.id))
            }
        } else {
            if !message.isInjected { created += 1 }
            channels[message.channelID]?.order.append(message.id)
            gatewayOutbox.append(("MESSAGE_CREATE", message.id))
        }
        messages[message.id] = message
    }
}

/// Discord snowflakes: milliseconds since 2015 in the top bits, a counter below; strictly
/// increasing so ids sort like creation order even within one millisecond.
struct SnowflakeGenerator: Sendable {
    static let discordEpochMilliseconds: UInt64 = 1_420_070_400_000
    private var last: UInt64 = 0

    mutating func next(at date: Date) -> String {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let timestamp = milliseconds > Self.discordEpochMilliseconds ? milliseconds - Self.discordEpochMilliseconds : 0
        last = max(last + 1, timestamp << 22)
        return String(last)
    }
}
