import Forwarding
import TelegramBotAPI

/// A Telegram message as the platform-neutral `Message` (text or caption with its entities,
/// media by file_id, the replied-to message, the author).
enum TelegramMessageMapper {
    static func message(from telegram: TelegramMessage) -> Message {
        let text = telegram.text ?? telegram.caption ?? ""
        let entities = (telegram.entities ?? telegram.captionEntities ?? []).compactMap(entity)
        return Message(
            text: text, entities: entities, media: media(of: telegram),
            replyToMessageID: telegram.replyToMessage?.messageId, replyQuote: telegram.replyToMessage.map(quote),
            author: author(of: telegram))
    }

    /// "Name: first line of the text…", at most about 100 characters.
    static func quote(_ replied: TelegramReplied) -> String {
        let name = replied.senderChat?.title ?? replied.from?.displayName
        let body =
            (replied.text ?? replied.caption ?? "").split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let snippet = body.count > 100 ? String(body.prefix(99)) + "…" : body
        let quote = [name, snippet.isEmpty ? "media" : snippet].compactMap { $0 }.joined(separator: ": ")
        return quote
    }

    static func entity(_ entity: TelegramEntity) -> MessageEntity? {
        guard let kind = MessageEntity.Kind(telegramType: entity.type) else { return nil }
        return MessageEntity(
            kind: kind, offset: entity.offset, length: entity.length, url: entity.url, language: entity.language,
            userID: entity.user?.id, customEmojiID: entity.customEmojiId)
    }

    static func media(of message: TelegramMessage) -> [Media] {
        if let photo = message.photo?.max(by: { $0.width * $0.height < $1.width * $1.height }) {
            return [
                Media(
                    kind: .photo, fileID: photo.fileId, fileName: "photo.jpg", mimeType: "image/jpeg",
                    size: photo.fileSize)
            ]
        }
        // An animation also carries `document`; it is the more precise kind.
        let candidates: [(Media.Kind, TelegramFileObject?, String)] = [
            (.animation, message.animation, "animation.mp4"), (.video, message.video, "video.mp4"),
            (.voice, message.voice, "voice.ogg"), (.audio, message.audio, "audio.mp3"),
            (.sticker, message.sticker, "sticker.webp"), (.document, message.document, "file"),
        ]
        for (kind, file, fallbackName) in candidates {
            if let file {
                return [
                    Media(
                        kind: kind, fileID: file.fileId, fileName: file.fileName ?? fallbackName,
                        mimeType: file.mimeType,
                        size: file.fileSize)
                ]
            }
        }
        return []
    }

    static func author(of message: TelegramMessage) -> Author? {
        if let signature = message.authorSignature, !signature.isEmpty {
            return Author(displayName: signature)
        }
        if let chat = message.senderChat {
            return Author(displayName: chat.title ?? chat.username ?? "Channel", username: chat.username)
        }
        if let user = message.from {
            return Author(displayName: user.displayName, username: user.username)
        }
        if message.chat.type == "channel" {
            return Author(displayName: message.chat.title ?? "Channel", username: message.chat.username)
        }
        return nil
    }
}
