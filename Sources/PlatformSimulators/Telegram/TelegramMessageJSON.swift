import Foundation

/// Builds the Bot API's User, Chat and Message objects from the simulator's records.
extension TelegramSimulator {
    static let mediaMethodKinds: [String: MessageKind] = [
        "sendPhoto": .photo, "sendVideo": .video, "sendDocument": .document, "sendAudio": .audio,
        "sendVoice": .voice, "sendAnimation": .animation, "sendSticker": .sticker,
    ]

    func userJSON(_ user: User, botDetails: Bool = false) -> SimulatorJSON {
        var object: [String: SimulatorJSON] = [
            "id": .int(user.id), "is_bot": .bool(user.isBot), "first_name": .string(user.firstName),
        ]
        if let lastName = user.lastName { object["last_name"] = .string(lastName) }
        if let username = user.username { object["username"] = .string(username) }
        if botDetails {
            object["can_join_groups"] = true
            object["can_read_all_group_messages"] = false
            object["supports_inline_queries"] = false
        }
        return .object(object)
    }

    func chatJSON(_ chat: TelegramState.Chat) -> SimulatorJSON {
        var object: [String: SimulatorJSON] = ["id": .int(chat.id), "type": .string(chat.type.rawValue)]
        if chat.type == .private {
            object["first_name"] = .string(chat.title ?? "User")
        } else {
            object["title"] = .string(chat.title ?? "Chat \(chat.id)")
        }
        if let username = chat.username { object["username"] = .string(username) }
        return .object(object)
    }

    /// The Message object as the Bot API returns it and as it appears inside an Update.
    func messageJSON(_ message: SentMessage, in state: TelegramState, withReply: Bool = true) -> SimulatorJSON {
        var object: [String: SimulatorJSON] = [
            "message_id": .int(Int64(message.messageID)), "date": .int(Int64(message.date.timeIntervalSince1970)),
        ]
        if let chat = state.chats[message.chatID] {
            object["chat"] = chatJSON(chat)
            // Channel posts are signed by the channel itself, not by a user.
            if chat.type == .channel {
                object["sender_chat"] = chatJSON(chat)
            } else if let from = message.from {
                object["from"] = userJSON(from)
            }
        }
        if let editDate = message.editDate { object["edit_date"] = .int(Int64(editDate.timeIntervalSince1970)) }
        if let thread = message.messageThreadID { object["message_thread_id"] = .int(Int64(thread)) }
        if let group = message.mediaGroupID { object["media_group_id"] = .string(group) }
        let entities = SimulatorJSON.array(message.entities.map(TelegramTextInput.entityJSON))
        if message.kind == .text {
            object["text"] = .string(message.text ?? "")
            if !message.entities.isEmpty { object["entities"] = entities }
            if let options = message.linkPreviewOptions { object["link_preview_options"] = options }
        } else {
            if let caption = message.text, !caption.isEmpty {
                object["caption"] = .string(caption)
                if !message.entities.isEmpty { object["caption_entities"] = entities }
            }
            let file = message.fileID.flatMap { state.files[$0] }
            object[message.kind.rawValue] = mediaJSON(kind: message.kind, fileID: message.fileID, file: file)
        }
        if withReply, let replyID = message.replyToMessageID,
            let replied = state.chats[message.chatID]?.messages[replyID]
        {
            object["reply_to_message"] = messageJSON(replied, in: state, withReply: false)
        }
        return .object(object)
    }

    private func mediaJSON(kind: MessageKind, fileID: String?, file: TelegramState.StoredFile?) -> SimulatorJSON {
        var object: [String: SimulatorJSON] = [
            "file_id": .string(fileID ?? "file-unknown"),
            "file_unique_id": .string(file?.uniqueID ?? "uniq-\(fileID ?? "unknown")"),
        ]
        if let file, file.size > 0 { object["file_size"] = .int(Int64(file.size)) }
        switch kind {
        case .photo:
            // Telegram answers every stored resolution; one is enough for a client to pick from.
            object["width"] = 1280
            object["height"] = 720
            return [.object(object)]
        case .video, .animation:
            object["width"] = 1280
            object["height"] = 720
            object["duration"] = 1
        case .audio, .voice:
            object["duration"] = 1
        case .sticker:
            object["type"] = "regular"
            object["width"] = 512
            object["height"] = 512
            object["is_animated"] = false
            object["is_video"] = false
        case .document, .text:
            break
        }
        if kind != .photo && kind != .sticker {
            if let mime = file?.mimeType { object["mime_type"] = .string(mime) }
            if let name = file?.fileName, kind != .voice { object["file_name"] = .string(name) }
        }
        return .object(object)
    }
}
