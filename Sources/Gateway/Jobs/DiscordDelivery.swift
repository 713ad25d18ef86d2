import DiscordAPI
import Forwarding
import Foundation
import JobQueue
import Store

/// Sends to a Discord channel: markdown split at 2,000 characters, media re-uploaded (up to ten
/// files a message, over-size ones named in a line instead), through a webhook (the author's name
/// shown) or as the bot (with a nonce so a retried create is not duplicated, nothing pinging).
struct DiscordDelivery {
    let delivery: Delivery

    init(_ delivery: Delivery) {
        self.delivery = delivery
    }

    var client: DiscordClient { delivery.runtime.platforms.discord }
    var channelID: Int64 { delivery.pair.destination.chatID }

    func target() async throws -> AccountDirectory.DiscordTarget {
        guard let target = try await delivery.runtime.accounts.discord(id: delivery.pair.destination.accountID) else {
            throw DeliveryError(description: "the destination Discord account is no longer linked")
        }
        return target
    }

    func create(_ items: [SourceItem]) async throws -> [DeliveredCopy] {
        let target = try await target()
        guard let first = items.first else { return [] }
        let textItem = items.first { !$0.message.text.isEmpty } ?? first
        var chunks = MessageSplitter.rendered(textItem.message.text, entities: textItem.message.entities, for: .discord)
        var files: [DiscordFile] = []
        var notes: [String] = []
        let limit = delivery.runtime.configuration.discordMaxUploadBytes
        for media in items.flatMap(\.message.media) {
            switch try await MediaFetcher(delivery: delivery).fetch(media, limit: limit) {
            case .fetched(let fetched):
                files.append(
                    DiscordFile(filename: Self.filename(media), contentType: media.mimeType, data: fetched.data))
            case .tooLarge(let media, let size):
                notes.append(DiscordMarkdown.escape(MediaFetcher.tooLargeLine(media, size: size, limit: limit)))
            }
        }
        if !notes.isEmpty {
            let note = notes.joined(separator: "\n")
            if let last = chunks.last, last.utf16.count + note.utf16.count + 1 <= PlatformLimits.discordContent {
                chunks[chunks.count - 1] = last + "\n" + note
            } else {
                chunks.append(note)
            }
        }
        // Ten files a message: extra files ride on further messages.
        var fileGroups = stride(from: 0, to: files.count, by: 10).map { Array(files[$0..<min($0 + 10, files.count)]) }
        let messageCount = max(chunks.count, fileGroups.count)
        guard messageCount > 0 else { return [] }
        while chunks.count < messageCount { chunks.append("") }
        while fileGroups.count < messageCount { fileGroups.append([]) }

        let replyTo = try await delivery.replyTarget(textItem.message)
        var copies: [DeliveredCopy] = []
        for part in 0..<messageCount {
            var body = DiscordMessageBody(content: chunks[part].isEmpty ? nil : chunks[part])
            let sent: DiscordCreatedMessage
            switch target.credential {
            case .webhook(let webhook):
                // Webhooks cannot reply: the first part quotes the replied-to message instead.
                if part == 0, delivery.pair.options.forwardRepliesAsReplies, let quote = textItem.message.replyQuote {
                    let line = "> ↪ " + DiscordMarkdown.escape(quote)
                    let content = body.content.map { line + "\n" + $0 } ?? line
                    // A full first part has no room for it; the text matters more than the quote.
                    if content.utf16.count <= PlatformLimits.discordContent { body.content = content }
                }
                if let author = textItem.message.author {
                    body.username = Self.webhookUsername(author.displayName)
                    body.avatarUrl = author.avatarURL.flatMap { $0.hasPrefix("https://") ? $0 : nil }
                }
                sent = try await client.executeWebhook(webhook, body: body, files: fileGroups[part])
            case .bot(let token):
                // The same nonce on a retry makes Discord return the message it already created.
                body.nonce = "j\(delivery.jobID)p\(part)"
                body.enforceNonce = true
                if part == 0, let replyTo {
                    body.messageReference = DiscordMessageReference(
                        messageId: String(replyTo), channelId: String(channelID))
                }
                sent = try await client.createMessage(
                    channelID: String(channelID), body: body, files: fileGroups[part], token: token)
            }
            copies.append(
                DeliveredCopy(
                    sourceMessageID: first.messageID, part: part, destChatID: channelID,
                    destMessageID: Int64(sent.id) ?? 0))
        }
        return copies
    }

    func edit(_ message: Message, links: [MessageLink]) async throws {
        guard let first = links.first else { return }
        let target = try await target()
        let content = MessageSplitter.rendered(message.text, entities: message.entities, for: .discord).first ?? ""
        let body = DiscordMessageBody(content: content)
        switch target.credential {
        case .webhook(let webhook):
            _ = try await client.editWebhookMessage(webhook, messageID: String(first.destMessageID), body: body)
        case .bot(let token):
            _ = try await client.editMessage(
                channelID: String(first.destChatID), messageID: String(first.destMessageID), body: body, token: token)
        }
    }

    /// Deletes every part of the copy; one already gone counts as deleted.
    func delete(_ links: [MessageLink]) async throws -> [MessageLink] {
        let target = try await target()
        for link in links {
            do throws(DiscordError) {
                switch target.credential {
                case .webhook(let webhook):
                    try await client.deleteWebhookMessage(webhook, messageID: String(link.destMessageID))
                case .bot(let token):
                    try await client.deleteMessage(
                        channelID: String(link.destChatID), messageID: String(link.destMessageID), token: token)
                }
            } catch {
                // Unknown Message: already deleted.
                if error.code != 10008 { throw error }
            }
        }
        return []
    }

    /// Discord wants 1-80 characters without "discord" or "clyde".
    static func webhookUsername(_ name: String) -> String {
        var cleaned = name
        // Foundation's case-insensitive replace and trim bridge to NSString; most names need neither.
        let lowercased = name.lowercased()
        for word in ["discord", "clyde"] where lowercased.contains(word) {
            cleaned = cleaned.replacingOccurrences(of: word, with: "", options: .caseInsensitive)
        }
        if cleaned.first?.isWhitespace == true || cleaned.last?.isWhitespace == true {
            cleaned = cleaned.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if cleaned.isEmpty { cleaned = "Telegram" }
        return String(cleaned.prefix(80))
    }

    static func filename(_ media: Media) -> String {
        let name = media.fileName ?? "\(media.kind.rawValue)"
        return name.replacingOccurrences(of: "/", with: "_")
    }
}
