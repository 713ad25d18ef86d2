import Foundation

/// A bot token. Its description never shows it.
public struct DiscordToken: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init?(_ value: String) {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= 30, !trimmed.contains(" ") else { return nil }
        self.value = trimmed
    }

    public var description: String { "discord-token:***" }
    public var debugDescription: String { description }
}

/// An incoming-webhook URL `…/webhooks/{id}/{token}`; the token part is a secret.
public struct DiscordWebhookURL: Sendable, Equatable, CustomStringConvertible {
    public let id: String
    public let token: String

    public init(id: String, token: String) {
        self.id = id
        self.token = token
    }

    public init?(_ url: String) {
        let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let components = URLComponents(string: trimmed),
            components.scheme == "https" || components.scheme == "http"
        else { return nil }
        let parts = components.path.split(separator: "/").map(String.init)
        guard let index = parts.lastIndex(of: "webhooks"), parts.count == index + 3,
            parts[index + 1].allSatisfy(\.isNumber), !parts[index + 2].isEmpty
        else { return nil }
        self.init(id: parts[index + 1], token: parts[index + 2])
    }

    public var description: String { "webhook \(id)/***" }
}
