import Foundation

/// Builds Discord's user, channel, webhook and message objects from the simulator's records.
extension DiscordSimulator {
    /// "2026-11-27T23:59:31.123000+00:00", as Discord writes it. Formatted by hand: a
    /// DateFormatter per message cost more than the rest of a webhook execution under load.
    static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let micros = Int(((interval - interval.rounded(.down)) * 1_000_000).rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let fraction = String(micros)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: max(0, 6 - fraction.count)) + fraction + "+00:00"
    }

    func botUserJSON(_ bot: DiscordState.Bot) -> SimulatorJSON {
        [
            "id": .string(bot.userID), "username": .string(bot.username), "discriminator": "0", "global_name": nil,
            "avatar": nil, "bot": true, "verified": true, "flags": 0,
        ]
    }

    func channelJSON(_ channel: DiscordState.Channel) -> SimulatorJSON {
        var object: [String: SimulatorJSON] = [
            "id": .string(channel.id), "type": .int(Int64(channel.type)), "name": .string(channel.name),
            "position": 0, "nsfw": false, "last_message_id": .optional(channel.order.last),
        ]
        if let guild = channel.guildID { object["guild_id"] = .string(guild) }
        if let parent = channel.parentID { object["parent_id"] = .string(parent) }
        return .object(object)
    }

    func webhookJSON(_ webhook: DiscordState.Webhook, in state: DiscordState) -> SimulatorJSON {
        [
            "id": .string(webhook.id), "type": 1, "channel_id": .string(webhook.channelID),
            "guild_id": .optional(state.channels[webhook.channelID]?.guildID), "name": .string(webhook.name),
            "avatar": nil, "token": .string(webhook.token), "application_id": nil,
        ]
    }

    func attachmentJSON(_ attachment: Attachment) -> SimulatorJSON {
        var object: [String: SimulatorJSON] = [
            "id": .string(attachment.id), "filename": .string(attachment.filename),
            "size": .int(Int64(attachment.size)), "url": .string(attachment.url), "proxy_url": .string(attachment.url),
        ]
        if let type = attachment.contentType { object["content_type"] = .string(type) }
        if let description = attachment.description { object["description"] = .string(description) }
        return .object(object)
    }

    func messageJSON(_ message: PostedMessage, in state: DiscordState, withReferenced: Bool = true) -> SimulatorJSON {
        var author: [String: SimulatorJSON]
        if let webhookID = message.webhookID {
            author = [
                "id": .string(webhookID),
                "username": .string(message.username ?? state.webhooks[webhookID]?.name ?? "Webhook"),
                "discriminator": "0000", "avatar": nil, "bot": true,
            ]
        } else if let bot = state.bots.values.first(where: { $0.userID == message.authorID }) {
            author = botUserJSON(bot).objectValue ?? [:]
        } else if let user = state.users[message.authorID] {
            author = [
                "id": .string(user.id), "username": .string(user.username), "discriminator": "0",
                "global_name": .optional(user.globalName), "avatar": nil,
            ]
        } else {
            author = [
                "id": .string(message.authorID), "username": .string("user\(message.authorID.suffix(4))"),
                "discriminator": "0", "global_name": nil, "avatar": nil,
            ]
        }
        var object: [String: SimulatorJSON] = [
            "id": .string(message.id), "type": message.messageReference == nil ? 0 : 19,
            "channel_id": .string(message.channelID), "content": .string(message.content), "author": .object(author),
            "attachments": .array(message.attachments.map(attachmentJSON)), "embeds": .array(message.embeds),
            "mentions": [], "mention_roles": [], "mention_everyone": false, "pinned": false, "tts": .bool(message.tts),
            "timestamp": .string(Self.timestamp(message.timestamp)),
            "edited_timestamp": .optional(message.editedTimestamp.map(Self.timestamp)),
            "flags": .int(Int64(message.flags)), "components": [],
        ]
        if let nonce = message.nonce { object["nonce"] = nonce }
        if let webhookID = message.webhookID { object["webhook_id"] = .string(webhookID) }
        if let reference = message.messageReference {
            var referenceJSON: [String: SimulatorJSON] = [
                "type": 0, "message_id": .string(reference.messageID), "channel_id": .string(reference.channelID),
            ]
            if let guild = reference.guildID { referenceJSON["guild_id"] = .string(guild) }
            object["message_reference"] = .object(referenceJSON)
            if withReferenced {
                object["referenced_message"] =
                    state.messages[reference.messageID].flatMap {
                        $0.deleted ? nil : messageJSON($0, in: state, withReferenced: false)
                    }
                    ?? .null
            }
        }
        return .object(object)
    }

    /// A content type for uploads that did not name one, from the file extension.
    static func guessContentType(_ filename: String) -> String? {
        let types = [
            "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
            "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime", "mp3": "audio/mpeg", "ogg": "audio/ogg",
            "wav": "audio/wav", "txt": "text/plain; charset=utf-8", "pdf": "application/pdf",
            "json": "application/json",
            "zip": "application/zip",
        ]
        guard let dot = filename.lastIndex(of: ".") else { return nil }
        return types[filename[filename.index(after: dot)...].lowercased()]
    }
}
