public import Foundation

/// Messages that users post, created directly in the simulator's chat history so that
/// copyMessage, replies and file downloads work on them, and shaped for Updates.
extension TelegramSimulator {
    /// The user injected messages come from unless told otherwise.
    public static let defaultUser = User(id: 777_000_001, firstName: "Test", lastName: "User", username: "test_user")

    /// Creates a message as if a user posted it and returns the Message object Telegram would
    /// put in an Update. For media kinds `text` is the caption; a file is registered for them
    /// (with `fileBytes`, or a few placeholder bytes) unless `fileID` names an existing one.
    /// Channel posts carry `sender_chat` instead of `from`.
    @discardableResult
    public func injectMessage(
        chatID: Int64, messageID: Int? = nil, text: String? = nil, entities: [Entity] = [], kind: MessageKind = .text,
        fileID: String? = nil, fileBytes: Data? = nil, fileName: String? = nil, mediaGroupID: String? = nil,
        replyToMessageID: Int? = nil, from: User = TelegramSimulator.defaultUser, date: Date? = nil
    ) throws -> SimulatorJSON {
        try state.withLock { state throws(SimulatorError) -> SimulatorJSON in
            guard let chat = state.chats[chatID] else { throw SimulatorError("no chat \(chatID); call addChat first") }
            let id: Int
            if let messageID {
                guard chat.messages[messageID] == nil else {
                    throw SimulatorError("message \(messageID) already exists in chat \(chatID)")
                }
                id = messageID
                state.chats[chatID]?.nextMessageID = max(chat.nextMessageID, messageID + 1)
            } else {
                id = state.nextMessageID(in: chatID)
            }
            var resolvedFileID: String?
            if kind != .text {
                if let fileID, state.files[fileID] != nil {
                    resolvedFileID = fileID
                } else {
                    let bytes = fileBytes ?? Data("simulated \(kind.rawValue) \(id)".utf8)
                    resolvedFileID = state.registerFile(bytes: bytes, kind: kind, fileName: fileName, mimeType: nil)
                }
            }
            let message = SentMessage(
                chatID: chatID, messageID: id, date: (date ?? state.now).roundedDownToSecond, senderBotID: nil,
                from: chat.type == .channel ? nil : from, kind: kind, text: text, entities: entities, rawText: text,
                parseMode: nil, replyToMessageID: replyToMessageID, mediaGroupID: mediaGroupID,
                fileReference: resolvedFileID, fileID: resolvedFileID, upload: nil, copiedFrom: nil,
                messageThreadID: nil, disableNotification: false, linkPreviewOptions: nil, edits: [], editDate: nil,
                deleted: false)
            state.store(message)
            return messageJSON(message, in: state)
        }
    }

    /// Wraps a Message object in an Update: "channel_post" for channels, "message" otherwise
    /// (or their edited_ forms). update_id is left for `deliver` to assign.
    public func makeUpdate(message: SimulatorJSON, edited: Bool = false) -> SimulatorJSON {
        let isChannel = message["chat"]?["type"]?.stringValue == ChatType.channel.rawValue
        let key = (edited ? "edited_" : "") + (isChannel ? "channel_post" : "message")
        return .object([key: message])
    }
}
