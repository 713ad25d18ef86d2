import Foundation

/// sendMessage, copyMessage, editMessageText, editMessageCaption and deleteMessage.
extension TelegramSimulator {
    static let maxTextLength = 4096
    static let maxCaptionLength = 1024
    /// Bots may delete messages only while they are younger than this.
    static let deleteWindow: TimeInterval = 48 * 3600

    func sendMessage(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        return try state.withLock { state throws(TelegramAPIError) in
            let chatID = try state.targetChat(try params.chatIdentifier(), token: call.token)
            let replyTo = try resolveReply(params, chatID: chatID, in: state)
            let raw = params.string("text") ?? ""
            let formatted = try TelegramTextInput.resolve(
                text: raw, parseMode: params.string("parse_mode"), entities: try params.json("entities"))
            try Self.checkText(formatted)
            var message = newMessage(call, chatID: chatID, kind: .text, in: &state)
            message.text = formatted.text
            message.entities = formatted.entities
            message.rawText = raw
            message.parseMode = params.string("parse_mode")
            message.replyToMessageID = replyTo
            message.linkPreviewOptions = try params.json("link_preview_options")
            if message.linkPreviewOptions == nil, params.bool("disable_web_page_preview") {
                message.linkPreviewOptions = ["is_disabled": true]
            }
            state.store(message)
            return messageJSON(message, in: state)
        }
    }

    func copyMessage(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        return try state.withLock { state throws(TelegramAPIError) in
            let chatID = try state.targetChat(try params.chatIdentifier(), token: call.token)
            guard let fromIdentifier = try params.chatIdentifier("from_chat_id") else {
                throw .badRequest("from_chat_id is empty")
            }
            let fromChatID = try state.chatID(for: fromIdentifier)
            try state.requireMember(token: call.token, chatID: fromChatID)
            guard let sourceID = try params.int("message_id"),
                let source = state.message(chatID: fromChatID, messageID: Int(sourceID))
            else { throw .badRequest("message to copy not found") }
            let replyTo = try resolveReply(params, chatID: chatID, in: state)
            var message = newMessage(call, chatID: chatID, kind: source.kind, in: &state)
            message.text = source.text
            message.entities = source.entities
            message.rawText = source.rawText
            message.parseMode = source.parseMode
            message.fileID = source.fileID
            message.fileReference = source.fileReference
            message.upload = source.upload
            message.copiedFrom = MessageReference(chatID: fromChatID, messageID: source.messageID)
            message.replyToMessageID = replyTo
            // A new caption replaces the old one; text messages have no caption to replace.
            if source.kind != .text, let caption = params.string("caption") {
                let formatted = try TelegramTextInput.resolve(
                    text: caption, parseMode: params.string("parse_mode"), entities: try params.json("caption_entities")
                )
                try Self.checkCaption(formatted)
                message.text = formatted.text
                message.entities = formatted.entities
                message.rawText = caption
                message.parseMode = params.string("parse_mode")
            }
            state.store(message)
            return ["message_id": .int(Int64(message.messageID))]
        }
    }

    func editMessageText(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        return try state.withLock { state throws(TelegramAPIError) in
            var message = try editableMessage(call, in: state)
            guard message.kind == .text else { throw .badRequest("there is no text in the message to edit") }
            let raw = params.string("text") ?? ""
            let formatted = try TelegramTextInput.resolve(
                text: raw, parseMode: params.string("parse_mode"), entities: try params.json("entities"))
            try Self.checkText(formatted)
            try applyEdit(&message, formatted: formatted, raw: raw, parseMode: params.string("parse_mode"), in: &state)
            return messageJSON(message, in: state)
        }
    }

    func editMessageCaption(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        return try state.withLock { state throws(TelegramAPIError) in
            var message = try editableMessage(call, in: state)
            guard message.kind != .text else { throw .badRequest("there is no caption in the message to edit") }
            let raw = params.string("caption") ?? ""
            let formatted = try TelegramTextInput.resolve(
                text: raw, parseMode: params.string("parse_mode"), entities: try params.json("caption_entities"))
            try Self.checkCaption(formatted)
            try applyEdit(&message, formatted: formatted, raw: raw, parseMode: params.string("parse_mode"), in: &state)
            return messageJSON(message, in: state)
        }
    }

    func deleteMessage(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        return try state.withLock { state throws(TelegramAPIError) in
            let chatID = try state.targetChat(try params.chatIdentifier(), token: call.token)
            guard let messageID = try params.int("message_id"),
                var message = state.message(chatID: chatID, messageID: Int(messageID))
            else { throw .badRequest("message to delete not found") }
            guard state.now.timeIntervalSince(message.date) < Self.deleteWindow else {
                throw .badRequest("message can't be deleted")
            }
            message.deleted = true
            state.store(message)
            return true
        }
    }

    // MARK: Shared steps

    static func checkText(_ formatted: FormattedText) throws(TelegramAPIError) {
        if formatted.text.isEmpty { throw .badRequest("message text is empty") }
        if formatted.text.utf16.count > maxTextLength { throw .badRequest("message is too long") }
    }

    static func checkCaption(_ formatted: FormattedText) throws(TelegramAPIError) {
        if formatted.text.utf16.count > maxCaptionLength { throw .badRequest("message caption is too long") }
    }

    /// A fresh message from this bot in `chatID`, numbered and dated, not yet stored.
    func newMessage(_ call: TelegramCall, chatID: Int64, kind: MessageKind, in state: inout TelegramState)
        -> SentMessage
    {
        SentMessage(
            chatID: chatID, messageID: state.nextMessageID(in: chatID), date: state.now.roundedDownToSecond,
            senderBotID: call.bot.id, from: call.bot, kind: kind, text: nil, entities: [], rawText: nil,
            parseMode: nil, replyToMessageID: nil, mediaGroupID: nil, fileReference: nil, fileID: nil, upload: nil,
            copiedFrom: nil, messageThreadID: (try? call.params.int("message_thread_id")).flatMap { $0.map(Int.init) },
            disableNotification: call.params.bool("disable_notification"), linkPreviewOptions: nil, edits: [],
            editDate: nil, deleted: false)
    }

    /// The message a reply points at: reply_parameters (Bot API 7.0) or the legacy
    /// reply_to_message_id; a missing one fails unless allow_sending_without_reply is set.
    func resolveReply(_ params: TelegramParameters, chatID: Int64, in state: TelegramState) throws(TelegramAPIError)
        -> Int?
    {
        var messageID: Int64?
        var replyChatID = chatID
        var allowWithout = params.bool("allow_sending_without_reply")
        if let reply = try params.json("reply_parameters") {
            guard case .object = reply, let id = reply["message_id"]?.intValue else {
                throw .badRequest("can't parse reply parameters JSON object")
            }
            messageID = id
            allowWithout = reply["allow_sending_without_reply"]?.boolValue ?? false
            if let other = reply["chat_id"] {
                if let id = other.intValue {
                    replyChatID = try state.chatID(for: .id(id))
                } else if let name = other.stringValue {
                    replyChatID = try state.chatID(
                        for: Int64(name).map { .id($0) } ?? .username(String(name.dropFirst())))
                }
            }
        } else {
            messageID = try params.int("reply_to_message_id")
        }
        guard let messageID else { return nil }
        if state.message(chatID: replyChatID, messageID: Int(messageID)) != nil { return Int(messageID) }
        if allowWithout { return nil }
        throw .badRequest("message to be replied not found")
    }

    private func editableMessage(_ call: TelegramCall, in state: TelegramState) throws(TelegramAPIError) -> SentMessage
    {
        if call.params.string("inline_message_id") != nil { throw .badRequest("message to edit not found") }
        let chatID = try state.targetChat(try call.params.chatIdentifier(), token: call.token)
        guard let messageID = try call.params.int("message_id"),
            let message = state.message(chatID: chatID, messageID: Int(messageID))
        else { throw .badRequest("message to edit not found") }
        guard message.senderBotID == call.bot.id else { throw .badRequest("message can't be edited") }
        return message
    }

    private func applyEdit(
        _ message: inout SentMessage, formatted: FormattedText, raw: String, parseMode: String?,
        in state: inout TelegramState
    ) throws(TelegramAPIError) {
        if (message.text ?? "") == formatted.text && message.entities == formatted.entities {
            throw .badRequest(
                "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
            )
        }
        message.edits.append(
            Edit(
                text: message.text, entities: message.entities, rawText: message.rawText, parseMode: message.parseMode,
                replacedAt: state.now))
        message.text = formatted.text
        message.entities = formatted.entities
        message.rawText = raw
        message.parseMode = parseMode
        message.editDate = state.now.roundedDownToSecond
        state.store(message)
    }
}

extension Date {
    /// Telegram dates are whole seconds; rounding keeps recorded and answered dates equal.
    var roundedDownToSecond: Date {
        Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down))
    }
}
