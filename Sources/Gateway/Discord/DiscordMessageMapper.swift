import DiscordAPI
import Forwarding
import Foundation

/// A Discord message as MESSAGE_CREATE / MESSAGE_UPDATE carry it (the fields forwarding reads).
struct DiscordGatewayMessage: Decodable, Sendable {
    struct Member: Decodable, Sendable {
        var nick: String?
    }

    struct MentionedUser: Decodable, Sendable {
        var id: String
        var username: String
        var globalName: String?
        var member: Member?
    }

    struct Embed: Decodable, Sendable {
        struct Field: Decodable, Sendable {
            var name: String
            var value: String
        }
        struct Named: Decodable, Sendable {
            var name: String?
            var text: String?
        }
        var type: String?
        var title: String?
        var description: String?
        var url: String?
        var fields: [Field]?
        var author: Named?
        var footer: Named?
    }

    struct Sticker: Decodable, Sendable {
        var name: String
    }

    struct Reference: Decodable, Sendable {
        var messageId: String?
    }

    /// The replied-to message, one level deep.
    struct Replied: Decodable, Sendable {
        var content: String?
        var author: DiscordUser?
        var member: Member?
        var attachments: [DiscordAttachment]?
    }

    var id: String
    var channelId: String
    var content: String?
    var author: DiscordUser?
    var member: Member?
    var attachments: [DiscordAttachment]?
    var embeds: [Embed]?
    var mentions: [MentionedUser]?
    var messageReference: Reference?
    var referencedMessage: Replied?
    var stickerItems: [Sticker]?
}

/// Turns a Discord message into the platform-neutral one: mentions become readable names,
/// custom emoji their `:name:`, timestamps dates, Discord markdown entities; rich embeds and
/// stickers become text, attachments media, replies a reference and a quote.
enum DiscordMessageMapper {
    static func message(from discord: DiscordGatewayMessage, names: DiscordStoredEvent.Names) -> Message {
        var markdown = resolveTokens(discord.content ?? "", message: discord, names: names)
        for embed in discord.embeds ?? [] {
            // Link previews repeat a URL already in the text; only rich embeds carry content.
            guard embed.type == nil || embed.type == "rich" else { continue }
            let text = embedMarkdown(embed)
            if !text.isEmpty { markdown += (markdown.isEmpty ? "" : "\n\n") + text }
        }
        for sticker in discord.stickerItems ?? [] {
            markdown += (markdown.isEmpty ? "" : "\n") + "[sticker: \(DiscordMarkdown.escape(sticker.name))]"
        }
        let (text, entities) = DiscordMarkdown.parse(markdown)
        return Message(
            text: text, entities: entities, media: (discord.attachments ?? []).map(media),
            replyToMessageID: discord.messageReference?.messageId.flatMap(Int64.init),
            replyQuote: discord.referencedMessage.map(quote), author: author(discord.author, member: discord.member))
    }

    static func media(_ attachment: DiscordAttachment) -> Media {
        let type = attachment.contentType?.lowercased() ?? ""
        let kind: Media.Kind =
            if type == "image/gif" {
                .animation
            } else if type.hasPrefix("image/") {
                .photo
            } else if type.hasPrefix("video/") {
                .video
            } else if type.hasPrefix("audio/") {
                .audio
            } else {
                .document
            }
        return Media(
            kind: kind, fileID: attachment.url ?? "", fileName: attachment.filename, mimeType: attachment.contentType,
            size: attachment.size)
    }

    static func author(_ user: DiscordUser?, member: DiscordGatewayMessage.Member?) -> Author? {
        guard let user else { return nil }
        let avatar = user.avatar.map { "https://cdn.discordapp.com/avatars/\(user.id)/\($0).png" }
        return Author(displayName: member?.nick ?? user.displayName, username: user.username, avatarURL: avatar)
    }

    /// "Name: first line…", like the Telegram side's quotes.
    static func quote(_ replied: DiscordGatewayMessage.Replied) -> String {
        let name = replied.member?.nick ?? replied.author?.displayName
        let body = (replied.content ?? "").split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let plain = DiscordMarkdown.parse(body).text
        let snippet = plain.count > 100 ? String(plain.prefix(99)) + "…" : plain
        return [name, snippet.isEmpty ? "media" : snippet].compactMap { $0 }.joined(separator: ": ")
    }

    static func embedMarkdown(_ embed: DiscordGatewayMessage.Embed) -> String {
        var lines: [String] = []
        if let author = embed.author?.name, !author.isEmpty { lines.append(DiscordMarkdown.escape(author)) }
        if let title = embed.title, !title.isEmpty {
            lines.append("**\(DiscordMarkdown.escape(title))**")
        }
        if let description = embed.description, !description.isEmpty { lines.append(description) }
        for field in embed.fields ?? [] {
            lines.append("**\(DiscordMarkdown.escape(field.name))**: \(field.value)")
        }
        if let url = embed.url, !url.isEmpty { lines.append(url) }
        if let footer = embed.footer?.text, !footer.isEmpty { lines.append(DiscordMarkdown.escape(footer)) }
        return lines.joined(separator: "\n")
    }

    /// Replaces `<@id>`, `<@!id>`, `<@&id>`, `<#id>`, `<:name:id>`, `<a:name:id>` and `<t:ts[:style]>`
    /// with what a reader sees; unknown ids stay readable (`@unknown-user`).
    static func resolveTokens(
        _ content: String, message: DiscordGatewayMessage, names: DiscordStoredEvent.Names
    ) -> String {
        var users: [String: String] = [:]
        for user in message.mentions ?? [] {
            users[user.id] = user.member?.nick ?? user.globalName ?? user.username
        }
        var output = ""
        var rest = Substring(content)
        while let open = rest.firstIndex(of: "<") {
            output += rest[..<open]
            guard let close = rest[open...].firstIndex(of: ">"),
                let replacement = token(rest[rest.index(after: open)..<close], users: users, names: names)
            else {
                output.append("<")
                rest = rest[rest.index(after: open)...]
                continue
            }
            output += replacement
            rest = rest[rest.index(after: close)...]
        }
        return output + rest
    }

    private static func token(
        _ inner: Substring, users: [String: String], names: DiscordStoredEvent.Names
    ) -> String? {
        func snowflake(_ text: Substring) -> String? {
            !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber } ? String(text) : nil
        }
        if inner.hasPrefix("@&"), let id = snowflake(inner.dropFirst(2)) {
            return "@" + DiscordMarkdown.escape(names.roles[id] ?? "unknown-role")
        }
        if inner.hasPrefix("@!"), let id = snowflake(inner.dropFirst(2)) {
            return "@" + DiscordMarkdown.escape(users[id] ?? "unknown-user")
        }
        if inner.hasPrefix("@"), let id = snowflake(inner.dropFirst()) {
            return "@" + DiscordMarkdown.escape(users[id] ?? "unknown-user")
        }
        if inner.hasPrefix("#"), let id = snowflake(inner.dropFirst()) {
            return "#" + DiscordMarkdown.escape(names.channels[id] ?? "unknown-channel")
        }
        let parts = inner.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3, parts[0].isEmpty || parts[0] == "a", !parts[1].isEmpty, snowflake(parts[2]) != nil {
            return ":" + DiscordMarkdown.escape(String(parts[1])) + ":"
        }
        if (parts.count == 2 || parts.count == 3), parts[0] == "t", let seconds = TimeInterval(parts[1]) {
            return DiscordMarkdown.escape(formatDate(seconds))
        }
        return nil
    }

    static func formatDate(_ seconds: TimeInterval) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
