import Foundation

/// A bot's token (`123456:ABC…`). Its description never shows the secret part.
public struct BotToken: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init?(_ value: String) {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, Int64(parts[0]) != nil, parts[1].count >= 20,
            parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else { return nil }
        self.value = trimmed
    }

    /// The bot's user id, the part before the colon (public).
    public var botID: Int64 { Int64(value.split(separator: ":")[0]) ?? 0 }

    public var description: String { "\(botID):***" }
    public var debugDescription: String { description }
}
