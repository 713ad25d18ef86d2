/// A Discord mention token found in text: `<@id>`/`<@!id>` (user), `<@&id>` (role), `<#id>` (channel).
public struct DiscordToken: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case user, role, channel
    }

    public var kind: Kind
    /// The snowflake id.
    public var id: UInt64
    /// Where the token sits, in UTF-16 code units.
    public var range: Range<Int>

    public init(kind: Kind, id: UInt64, range: Range<Int>) {
        self.kind = kind
        self.id = id
        self.range = range
    }
}

extension DiscordMarkdown {
    /// Every user, role and channel mention token in `text`, in order, with UTF-16 ranges, so a
    /// later layer can replace them with resolved names (via `TextEdit`).
    public static func mentions(in text: String) -> [DiscordToken] {
        let units = UTF16Text.units(text)
        var tokens: [DiscordToken] = []
        var index = 0
        while index < units.count {
            guard units[index] == Unit.lessThan,
                let (token, after) = DiscordSyntax.angleToken(at: index, in: units, end: units.count)
            else {
                index += 1
                continue
            }
            switch token {
            case .user(let id): tokens.append(DiscordToken(kind: .user, id: id, range: index..<after))
            case .role(let id): tokens.append(DiscordToken(kind: .role, id: id, range: index..<after))
            case .channel(let id): tokens.append(DiscordToken(kind: .channel, id: id, range: index..<after))
            case .customEmoji, .timestamp, .bracketedURL: break
            }
            index = after
        }
        return tokens
    }
}
