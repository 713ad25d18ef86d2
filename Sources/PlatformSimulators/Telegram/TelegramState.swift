import Foundation

/// Everything the Telegram simulator knows, behind one Mutex in `TelegramSimulator`.
struct TelegramState: Sendable {
    struct Bot: Sendable {
        var user: TelegramSimulator.User
        var webhook: WebhookRecord?
        /// Updates not yet confirmed (getUpdates) or not yet delivered (webhook), in order.
        var pending: [PendingUpdate] = []
        var nextUpdateID = 1
        /// Remembered across getUpdates calls, as the Bot API does.
        var allowedUpdates: [String]?
        /// Bumped by every getUpdates; a waiting call that sees it change was superseded.
        var pollGeneration = 0
    }

    struct WebhookRecord: Sendable {
        var url: String
        var secretToken: String?
        var allowedUpdates: [String]?
        var maxConnections: Int
        var lastErrorDate: Date?
        var lastErrorMessage: String?
    }

    struct PendingUpdate: Sendable {
        var id: Int
        /// The whole Update object, update_id included.
        var payload: SimulatorJSON
        /// The update's kind ("message", "channel_post", …) for allowed_updates filtering.
        var type: String
    }

    struct Chat: Sendable {
        var id: Int64
        var type: TelegramSimulator.ChatType
        var title: String?
        var username: String?
        var nextMessageID = 1
        var order: [Int] = []
        var messages: [Int: TelegramSimulator.SentMessage] = [:]
    }

    struct StoredFile: Sendable {
        var fileID: String
        var uniqueID: String
        var bytes: Data
        var size: Int
        var path: String
        var mimeType: String?
        var fileName: String?
    }

    struct FailureRule: Sendable {
        var remaining: Int
        /// Lowercased method name; nil matches any.
        var method: String?
        var chatID: Int64?
        var failure: TelegramFailure
    }

    struct MembershipKey: Sendable, Hashable {
        var token: String
        var chatID: Int64
    }

    var bots: [String: Bot] = [:]
    var chats: [Int64: Chat] = [:]
    var nonMembers: Set<MembershipKey> = []
    var files: [String: StoredFile] = [:]
    var filesByPath: [String: String] = [:]
    var nextFileNumber = 1
    var nextMediaGroupNumber = 1
    var failures: [FailureRule] = []
    var calls: [TelegramSimulator.Call] = []
    var floodLimit: Int?
    /// Recent successful sends per chat (monotonic seconds) for the optional flood control.
    var floodLog: [Int64: [Double]] = [:]
    var clockOffset: TimeInterval = 0
    var baseURL: String?
    var isRunning = false

    var now: Date { Date().addingTimeInterval(clockOffset) }

    func chatID(for identifier: ChatIdentifier) throws(TelegramAPIError) -> Int64 {
        switch identifier {
        case .id(let id):
            guard chats[id] != nil else { throw .chatNotFound }
            return id
        case .username(let name):
            guard let chat = chats.values.first(where: { $0.username?.lowercased() == name.lowercased() }) else {
                throw .chatNotFound
            }
            return chat.id
        }
    }

    /// The chat a method acts on, after the membership check every sending method does.
    func targetChat(_ identifier: ChatIdentifier?, token: String) throws(TelegramAPIError) -> Int64 {
        guard let identifier else { throw .badRequest("chat_id is empty") }
        let id = try chatID(for: identifier)
        try requireMember(token: token, chatID: id)
        return id
    }

    func requireMember(token: String, chatID: Int64) throws(TelegramAPIError) {
        guard nonMembers.contains(MembershipKey(token: token, chatID: chatID)), let chat = chats[chatID] else { return }
        switch chat.type {
        case .channel: throw .forbidden("bot is not a member of the channel chat")
        case .supergroup: throw .forbidden("bot was kicked from the supergroup chat")
        case .group: throw .forbidden("bot was kicked from the group chat")
        case .private: throw .forbidden("bot was blocked by the user")
        }
    }

    /// The first armed failure matching this call, consumed.
    mutating func takeFailure(method: String, chatID: Int64?) -> TelegramFailure? {
        guard
            let index = failures.firstIndex(where: { rule in
                (rule.method == nil || rule.method == method.lowercased())
                    && (rule.chatID == nil || rule.chatID == chatID)
            })
        else { return nil }
        let failure = failures[index].failure
        failures[index].remaining -= 1
        if failures[index].remaining <= 0 { failures.remove(at: index) }
        return failure
    }

    func message(chatID: Int64, messageID: Int) -> TelegramSimulator.SentMessage? {
        guard let message = chats[chatID]?.messages[messageID], !message.deleted else { return nil }
        return message
    }

    mutating func store(_ message: TelegramSimulator.SentMessage) {
        chats[message.chatID]?.messages[message.messageID] = message
        if chats[message.chatID]?.order.contains(message.messageID) == false {
            chats[message.chatID]?.order.append(message.messageID)
        }
    }

    mutating func nextMessageID(in chatID: Int64) -> Int {
        let id = chats[chatID]?.nextMessageID ?? 1
        chats[chatID]?.nextMessageID = id + 1
        return id
    }

    /// Registers a file the simulator received (upload or URL) and returns its new file_id.
    mutating func registerFile(bytes: Data, kind: TelegramSimulator.MessageKind, fileName: String?, mimeType: String?)
        -> String
    {
        let number = nextFileNumber
        nextFileNumber += 1
        let fileID = "file-sim-\(number)"
        let folder: String
        switch kind {
        case .photo: folder = "photos"
        case .video: folder = "videos"
        case .audio: folder = "music"
        case .voice: folder = "voice"
        case .animation: folder = "animations"
        case .sticker: folder = "stickers"
        case .document, .text: folder = "documents"
        }
        let fileExtension = fileName.flatMap { name in
            name.contains(".") ? name.split(separator: ".").last.map(String.init) : nil
        }
        let path = "\(folder)/file_\(number)" + (fileExtension.map { ".\($0)" } ?? "")
        files[fileID] = StoredFile(
            fileID: fileID, uniqueID: "uniq-sim-\(number)", bytes: bytes, size: bytes.count, path: path,
            mimeType: mimeType, fileName: fileName)
        filesByPath[path] = fileID
        return fileID
    }
}
