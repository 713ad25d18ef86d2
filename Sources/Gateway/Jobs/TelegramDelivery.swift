import Forwarding
import Foundation
import JobQueue
import PlatformHTTP
import Store
import TelegramBotAPI

/// Sends to a Telegram chat: text as HTML (split at 4,096), media by copyMessage when the same
/// bot can read the source, else downloaded and uploaded, albums with sendMediaGroup.
struct TelegramDelivery {
    let delivery: Delivery

    init(_ delivery: Delivery) {
        self.delivery = delivery
    }

    var client: TelegramClient { delivery.runtime.platforms.telegram }
    var chatID: Int64 { delivery.pair.destination.chatID }

    func bot() async throws -> AccountDirectory.TelegramBot {
        guard let bot = try await delivery.runtime.accounts.telegram(id: delivery.pair.destination.accountID) else {
            throw DeliveryError(description: "the destination Telegram bot is no longer linked")
        }
        return bot
    }

    /// Whether the destination bot is the source bot, which can copy messages from the source chat.
    var sameBot: Bool {
        delivery.pair.source.platform == .telegram
            && delivery.pair.source.accountID == delivery.pair.destination.accountID
    }

    func create(_ items: [SourceItem]) async throws -> [DeliveredCopy] {
        let bot = try await bot()
        guard let first = items.first else { return [] }
        let reply = try await delivery.replyTarget(first.message).map { ReplyParameters(messageId: $0) }
        if items.count > 1 || items.contains(where: { $0.message.media.count > 1 }) {
            return try await sendAlbum(items, bot: bot, reply: reply)
        }
        let message = first.message
        if message.media.isEmpty {
            let chunks = MessageSplitter.rendered(message.text, entities: message.entities, for: .telegram)
            try delivery.reserve(chunks.count, under: limits(bot))
            var copies: [DeliveredCopy] = []
            for (part, chunk) in chunks.enumerated() {
                let sent = try await client.sendMessage(
                    SendMessage(
                        chatId: chatID, text: chunk,
                        replyParameters: part == 0 ? reply : nil),
                    token: bot.token)
                copies.append(
                    DeliveredCopy(
                        sourceMessageID: first.messageID, part: part, destChatID: chatID, destMessageID: sent.messageId)
                )
            }
            return copies
        }
        return try await sendSingleMedia(first, bot: bot, reply: reply)
    }

    private func limits(_ bot: AccountDirectory.TelegramBot) -> [SendScheduler.Limit] {
        delivery.runtime.telegramLimits(botUserID: bot.botUserID, chatID: chatID)
    }

    /// The caption when the text fits one (1,024), else no caption and the text after the media.
    private func captionAndRest(_ message: Message) -> (caption: String?, rest: [String]) {
        guard !message.text.isEmpty else { return (nil, []) }
        let html = TelegramHTML.render(message.text, entities: message.entities)
        if html.utf16.count <= PlatformLimits.telegramCaption { return (html, []) }
        return (nil, MessageSplitter.rendered(message.text, entities: message.entities, for: .telegram))
    }

    private func sendSingleMedia(_ item: SourceItem, bot: AccountDirectory.TelegramBot, reply: ReplyParameters?)
        async throws -> [DeliveredCopy]
    {
        let message = item.message
        let media = message.media[0]
        let (caption, rest) = captionAndRest(message)
        try delivery.reserve(1 + rest.count, under: limits(bot))
        let captionable = media.kind != .sticker
        var sentID: Int64
        if sameBot {
            sentID = try await client.copyMessage(
                CopyMessage(
                    chatId: chatID, fromChatId: delivery.payload.sourceChatID, messageId: item.messageID,
                    caption: captionable ? (caption ?? "") : nil, parseMode: captionable ? "HTML" : nil,
                    replyParameters: reply),
                token: bot.token
            ).messageId
        } else {
            switch try await MediaFetcher(delivery: delivery).fetch(media, limit: 50_000_000) {
            case .fetched(let fetched):
                var form = MultipartForm()
                form.add(name: "chat_id", value: String(chatID))
                let field = Self.uploadField(media.kind)
                form.add(
                    name: field.name, filename: media.fileName ?? field.name, contentType: media.mimeType,
                    data: fetched.data)
                if captionable, let caption {
                    form.add(name: "caption", value: caption)
                    form.add(name: "parse_mode", value: "HTML")
                }
                if let reply { form.add(name: "reply_parameters", json: try JSONEncoder.telegram.encode(reply)) }
                sentID = try await client.sendMedia(method: field.method, form: form, token: bot.token).messageId
            case .tooLarge(let media, let size):
                let line = MediaFetcher.tooLargeLine(media, size: size, limit: 50_000_000)
                let text = [
                    caption.map { _ in TelegramHTML.render(message.text, entities: message.entities) },
                    TelegramHTML.escape(line),
                ]
                .compactMap { $0 }.joined(separator: "\n")
                sentID = try await client.sendMessage(
                    SendMessage(chatId: chatID, text: text, replyParameters: reply), token: bot.token
                ).messageId
            }
        }
        var copies = [
            DeliveredCopy(sourceMessageID: item.messageID, part: 0, destChatID: chatID, destMessageID: sentID)
        ]
        for (index, chunk) in rest.enumerated() {
            let sent = try await client.sendMessage(SendMessage(chatId: chatID, text: chunk), token: bot.token)
            copies.append(
                DeliveredCopy(
                    sourceMessageID: item.messageID, part: index + 1, destChatID: chatID, destMessageID: sent.messageId)
            )
        }
        return copies
    }

    /// Albums go out as media groups of up to ten (photos and videos together; documents and
    /// audio in groups of their own kind, as Telegram requires).
    private func sendAlbum(_ items: [SourceItem], bot: AccountDirectory.TelegramBot, reply: ReplyParameters?)
        async throws
        -> [DeliveredCopy]
    {
        let entries = items.flatMap { item in item.message.media.map { (item: item, media: $0) } }
        let caption = items.first { !$0.message.text.isEmpty }.map {
            TelegramHTML.render($0.message.text, entities: $0.message.entities)
        }
        var groups: [[(item: SourceItem, media: Media)]] = []
        for kind in [["photo", "video"], ["document"], ["audio"]] {
            let matching = entries.filter { kind.contains(Self.inputType($0.media.kind)) }
            groups += stride(from: 0, to: matching.count, by: 10).map {
                Array(matching[$0..<min($0 + 10, matching.count)])
            }
        }
        // A group needs 2-10 items: a lone one goes as a single message, like stickers and voice.
        let singles =
            groups.filter { $0.count == 1 }.flatMap { $0 }
            + entries.filter { ["sticker", "voice"].contains(Self.inputType($0.media.kind)) }
        groups.removeAll { $0.count == 1 }
        try delivery.reserve(groups.count + singles.count, under: limits(bot))
        var copies: [DeliveredCopy] = []
        var captionUsed = false
        var parts: [Int64: Int] = [:]
        for group in groups {
            var form = MultipartForm()
            form.add(name: "chat_id", value: String(chatID))
            var inputs: [InputMedia] = []
            for (index, entry) in group.enumerated() {
                var reference = entry.media.fileID
                if !sameBot {
                    guard
                        case .fetched(let fetched) = try await MediaFetcher(delivery: delivery).fetch(
                            entry.media, limit: 50_000_000)
                    else { continue }
                    reference = "attach://file\(index)"
                    form.add(
                        name: "file\(index)", filename: entry.media.fileName ?? "file\(index)",
                        contentType: entry.media.mimeType, data: fetched.data)
                }
                let withCaption =
                    !captionUsed && inputs.isEmpty && caption != nil
                    && caption!.utf16.count <= PlatformLimits.telegramCaption
                inputs.append(
                    InputMedia(
                        type: Self.inputType(entry.media.kind), media: reference, caption: withCaption ? caption : nil,
                        parseMode: withCaption ? "HTML" : nil))
                if withCaption { captionUsed = true }
            }
            guard inputs.count >= 2 else { continue }
            form.add(name: "media", json: try JSONEncoder.telegram.encode(inputs))
            if let reply, copies.isEmpty {
                form.add(name: "reply_parameters", json: try JSONEncoder.telegram.encode(reply))
            }
            let sent = try await client.sendMediaGroup(form: form, token: bot.token)
            for (entry, message) in zip(group, sent) {
                let part = parts[entry.item.messageID, default: 0]
                parts[entry.item.messageID] = part + 1
                copies.append(
                    DeliveredCopy(
                        sourceMessageID: entry.item.messageID, part: part, destChatID: chatID,
                        destMessageID: message.messageId))
            }
        }
        for entry in singles {
            let single = try await sendSingleMedia(
                SourceItem(messageID: entry.item.messageID, message: Message(media: [entry.media])), bot: bot,
                reply: nil)
            copies += single
        }
        if !captionUsed, let first = items.first(where: { !$0.message.text.isEmpty }) {
            for chunk in MessageSplitter.rendered(first.message.text, entities: first.message.entities, for: .telegram)
            {
                let sent = try await client.sendMessage(SendMessage(chatId: chatID, text: chunk), token: bot.token)
                let part = parts[first.messageID, default: 0]
                parts[first.messageID] = part + 1
                copies.append(
                    DeliveredCopy(
                        sourceMessageID: first.messageID, part: part, destChatID: chatID, destMessageID: sent.messageId)
                )
            }
        }
        return copies
    }

    func edit(_ message: Message, links: [MessageLink]) async throws {
        let bot = try await bot()
        try delivery.reserve(1, under: limits(bot))
        guard let first = links.first else { return }
        if message.media.isEmpty {
            let text = MessageSplitter.rendered(message.text, entities: message.entities, for: .telegram).first
            _ = try await client.editMessageText(
                EditMessageText(chatId: first.destChatID, messageId: first.destMessageID, text: text ?? ""),
                token: bot.token)
        } else {
            let (caption, _) = captionAndRest(message)
            _ = try await client.editMessageCaption(
                EditMessageCaption(chatId: first.destChatID, messageId: first.destMessageID, caption: caption ?? ""),
                token: bot.token)
        }
    }

    /// Telegram lets a bot delete its messages for 48 hours; older copies stay (and are returned).
    func delete(_ links: [MessageLink]) async throws -> [MessageLink] {
        let bot = try await bot()
        let window = Date().addingTimeInterval(-48 * 3600)
        let deletable = links.filter { ($0.createdAt ?? .distantFuture) > window }
        try delivery.reserve(deletable.count, under: limits(bot))
        for link in deletable {
            do throws(TelegramError) {
                _ = try await client.deleteMessage(
                    DeleteMessage(chatId: link.destChatID, messageId: link.destMessageID), token: bot.token)
            } catch {
                // Already gone (deleted by hand, or by an earlier attempt of this job) counts as done.
                if !error.message.lowercased().contains("message to delete not found") { throw error }
            }
        }
        return links.filter { ($0.createdAt ?? .distantFuture) <= window }
    }

    static func inputType(_ kind: Media.Kind) -> String {
        switch kind {
        case .photo: "photo"
        case .video, .animation: "video"
        case .audio: "audio"
        case .document: "document"
        case .voice: "voice"
        case .sticker: "sticker"
        }
    }

    static func uploadField(_ kind: Media.Kind) -> (method: String, name: String) {
        switch kind {
        case .photo: ("sendPhoto", "photo")
        case .video: ("sendVideo", "video")
        case .animation: ("sendAnimation", "animation")
        case .audio: ("sendAudio", "audio")
        case .voice: ("sendVoice", "voice")
        case .sticker: ("sendSticker", "sticker")
        case .document: ("sendDocument", "document")
        }
    }
}
