import Crypto
import DiscordAPI
import Foundation

/// An interaction as Discord POSTs it (the fields the commands read).
struct DiscordInteraction: Decodable, Sendable {
    struct Member: Decodable, Sendable {
        var user: DiscordUser?
        /// The invoker's permissions in the channel, a decimal bit set.
        var permissions: String?
    }

    struct Option: Decodable, Sendable {
        var name: String
        var type: Int?
        var value: Value?
        var options: [Option]?
    }

    /// Option values are strings, integers, numbers or booleans; kept as text.
    struct Value: Decodable, Sendable {
        var text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                text = string
            } else if let integer = try? container.decode(Int64.self) {
                text = String(integer)
            } else if let number = try? container.decode(Double.self) {
                text = String(number)
            } else {
                text = String(try container.decode(Bool.self))
            }
        }
    }

    struct Resolved: Decodable, Sendable {
        var messages: [String: DiscordGatewayMessage]?
    }

    struct Data: Decodable, Sendable {
        var name: String?
        /// 1 slash command, 3 message context menu.
        var type: Int?
        var options: [Option]?
        var targetId: String?
        var customId: String?
        var values: [String]?
        var resolved: Resolved?
    }

    var id: String
    var applicationId: String
    var type: Int
    var token: String
    var data: Data?
    var channelId: String?
    var guildId: String?
    var member: Member?
    var user: DiscordUser?

    var invoker: DiscordUser? { member?.user ?? user }

    /// MANAGE_GUILD or ADMINISTRATOR: who may change what the server forwards.
    var canManageServer: Bool {
        guard let bits = member?.permissions.flatMap(UInt64.init) else { return false }
        return bits & (1 << 5) != 0 || bits & (1 << 3) != 0
    }
}

/// Checks Discord's Ed25519 signature over `timestamp + body` and the timestamp's age.
enum InteractionSignature {
    enum Failure: Error, Equatable {
        case missingHeaders
        case stale
        case invalid
    }

    static func verify(
        publicKeyHex: String, signatureHex: String?, timestamp: String?, body: [UInt8], now: Date, maxAge: Duration
    ) -> Failure? {
        guard let signatureHex, let timestamp, let seconds = TimeInterval(timestamp),
            let signature = hexBytes(signatureHex), signature.count == 64
        else { return .missingHeaders }
        guard abs(now.timeIntervalSince1970 - seconds) <= maxAge.secondsDouble else { return .stale }
        guard let keyBytes = hexBytes(publicKeyHex),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return .invalid }
        let signed = Array(timestamp.utf8) + body
        return key.isValidSignature(signature, for: signed) ? nil : .invalid
    }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A select menu in an action row, the only component the commands send.
struct SelectMenuRow: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var label: String
        var value: String
    }

    struct Menu: Encodable, Sendable {
        var type = 3
        var customId: String
        var placeholder: String
        var options: [Choice]
    }

    var type = 1
    var components: [Menu]

    init(customID: String, placeholder: String, choices: [Choice]) {
        components = [Menu(customId: customID, placeholder: placeholder, options: choices)]
    }
}

/// What the endpoint answers: a callback type and, for messages, their content.
struct InteractionResponse: Encodable, Sendable {
    struct MessageData: Encodable, Sendable {
        var content: String?
        var flags: Int?
        var components: [SelectMenuRow]?
    }

    var type: Int
    var data: MessageData?

    init(type: Int, content: String? = nil, ephemeral: Bool = true, components: [SelectMenuRow]? = nil) {
        self.type = type
        if type != 1 {
            data = MessageData(content: content, flags: ephemeral ? 64 : nil, components: components)
        }
    }

    static let pong = InteractionResponse(type: 1)

    static func message(_ content: String, ephemeral: Bool = true) -> InteractionResponse {
        InteractionResponse(type: 4, content: content, ephemeral: ephemeral)
    }

    /// "Thinking…": the answer follows by editing the original response.
    static func deferred() -> InteractionResponse {
        InteractionResponse(type: 5)
    }

    var json: Foundation.Data {
        (try? JSONEncoder.discord.encode(self)) ?? Foundation.Data(#"{"type":1}"#.utf8)
    }
}
