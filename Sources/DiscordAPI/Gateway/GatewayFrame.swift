import Foundation

/// Gateway opcodes (topics/opcodes-and-status-codes).
public enum GatewayOpcode: Int, Sendable {
    case dispatch = 0
    case heartbeat = 1
    case identify = 2
    case resume = 6
    case reconnect = 7
    case invalidSession = 9
    case hello = 10
    case heartbeatACK = 11
}

/// Intents a forwarding bot needs: guilds (channel and role names for mentions), guild messages
/// and their content.
public struct GatewayIntents: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let guilds = GatewayIntents(rawValue: 1 << 0)
    public static let guildMessages = GatewayIntents(rawValue: 1 << 9)
    public static let messageContent = GatewayIntents(rawValue: 1 << 15)

    public static let forwarding: GatewayIntents = [.guilds, .guildMessages, .messageContent]
}

/// The envelope of every Gateway message; `d` is decoded per opcode and event.
struct GatewayHeader: Decodable {
    var op: Int
    var s: Int?
    var t: String?
}

struct GatewayEnvelope<D: Decodable>: Decodable {
    var d: D
}

struct HelloData: Decodable {
    var heartbeatInterval: Int
}

struct ReadyData: Decodable {
    var sessionId: String
    var resumeGatewayUrl: String
}

/// What a session needs to resume: kept between connections and, through the owner, between
/// processes.
public struct GatewayResumeState: Codable, Sendable, Equatable {
    public var sessionID: String
    public var sequence: Int
    public var resumeURL: String

    public init(sessionID: String, sequence: Int, resumeURL: String) {
        self.sessionID = sessionID
        self.sequence = sequence
        self.resumeURL = resumeURL
    }
}

/// One dispatch as received: its name, sequence number and the whole frame's text.
public struct GatewayDispatch: Sendable {
    public let event: String
    public let sequence: Int
    public let frame: String
}

/// Close codes after which Discord says not to reconnect (authentication, sharding, version,
/// intents).
public enum GatewayCloseCode {
    public static let fatal: Set<Int> = [4004, 4010, 4011, 4012, 4013, 4014]
    /// The session cannot be resumed: identify again.
    public static let sessionLost: Set<Int> = [4007, 4009]

    public static func describe(_ code: Int) -> String {
        switch code {
        case 4004: "authentication failed (the bot token is invalid)"
        case 4010: "invalid shard"
        case 4011: "sharding required"
        case 4012: "invalid API version"
        case 4013: "invalid intents"
        case 4014: "disallowed intents (enable the message content intent in the developer portal)"
        case 4007: "invalid sequence on resume"
        case 4009: "session timed out"
        default: "close code \(code)"
        }
    }
}

enum GatewayJSON {
    static func identify(token: String, intents: GatewayIntents) -> String {
        encode([
            "op": GatewayOpcode.identify.rawValue,
            "d": [
                "token": token,
                "intents": intents.rawValue,
                "properties": ["os": "linux", "browser": "autoforwardx", "device": "autoforwardx"],
            ] as [String: Any],
        ])
    }

    static func resume(token: String, state: GatewayResumeState) -> String {
        encode([
            "op": GatewayOpcode.resume.rawValue,
            "d": ["token": token, "session_id": state.sessionID, "seq": state.sequence] as [String: Any],
        ])
    }

    static func heartbeat(sequence: Int?) -> String {
        "{\"op\":1,\"d\":\(sequence.map(String.init) ?? "null")}"
    }

    private static func encode(_ object: [String: Any]) -> String {
        // Only strings and integers go in; serialization cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
