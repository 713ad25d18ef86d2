public import Foundation
import Synchronization

/// An in-process fake of the Telegram Bot API over real HTTP on loopback: `/bot<token>/<method>`
/// calls answered with the Bot API's JSON, validation and error texts, files under
/// `/file/bot<token>/<path>`, and an inbound side that delivers updates to a webhook or to
/// getUpdates. Set it up with `addBot`/`addChat`, inspect it with `messages(inChat:)`.
public final class TelegramSimulator: Sendable {
    let state = Mutex(TelegramState())
    let server = Mutex<SimulatorServer?>(nil)
    /// CA file trusted for HTTPS webhook deliveries (the gateway's development CA).
    let trustedCAPath: String?

    /// Uploads are limited to 50 MB by the Bot API; a little more is read so the limit can answer.
    static let maxRequestBody = 64 * 1024 * 1024

    public init(trustingCA caPath: String? = nil) {
        trustedCAPath = caPath
    }

    /// Starts serving and returns the base URL ("http://127.0.0.1:51234", no trailing slash);
    /// pass it to the gateway as the Bot API server.
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws -> String {
        let newServer = SimulatorServer(name: "telegram", maxBodySize: Self.maxRequestBody) { [self] request in
            await handle(request)
        }
        let installed = server.withLock { current -> Bool in
            guard current == nil else { return false }
            current = newServer
            return true
        }
        guard installed else { throw SimulatorError("the telegram simulator is already running") }
        do {
            let boundPort = try await newServer.start(host: host, port: port)
            let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(boundPort)"
            state.withLock {
                $0.baseURL = base
                $0.isRunning = true
            }
            return base
        } catch {
            server.withLock { $0 = nil }
            throw error
        }
    }

    /// Stops serving; waiting getUpdates calls end. The recorded state stays for inspection.
    public func stop() async {
        state.withLock { $0.isRunning = false }
        let current = server.withLock { current -> SimulatorServer? in
            defer { current = nil }
            return current
        }
        await current?.stop()
    }

    // MARK: Setup

    public func addBot(token: String, id: Int64, username: String, firstName: String) {
        let user = User(id: id, isBot: true, firstName: firstName, username: username)
        state.withLock { $0.bots[token] = TelegramState.Bot(user: user) }
    }

    /// - Parameter title: the title of a group/channel, or the first name of a private chat's user.
    public func addChat(id: Int64, type: ChatType, title: String? = nil, username: String? = nil) {
        state.withLock { state in
            var chat = state.chats[id] ?? TelegramState.Chat(id: id, type: type)
            chat.type = type
            chat.title = title
            chat.username = username
            state.chats[id] = chat
        }
    }

    /// Registers a file getFile can describe and `/file/bot<token>/<path>` can serve.
    /// - Parameter declaredSize: a size to report instead of `bytes.count`, to test the 20 MB
    ///   getFile limit without allocating that much.
    public func addFile(fileID: String, uniqueID: String, bytes: Data, path: String, declaredSize: Int? = nil) {
        state.withLock { state in
            state.files[fileID] = TelegramState.StoredFile(
                fileID: fileID, uniqueID: uniqueID, bytes: bytes, size: declaredSize ?? bytes.count, path: path)
            state.filesByPath[path] = fileID
        }
    }

    /// Bots are members of every chat unless told otherwise.
    public func setBotMember(botToken: String, chatID: Int64, isMember: Bool) {
        state.withLock { state in
            let key = TelegramState.MembershipKey(token: botToken, chatID: chatID)
            if isMember {
                state.nonMembers.remove(key)
            } else {
                state.nonMembers.insert(key)
            }
        }
    }

    /// Makes the next `count` calls matching `method` (case-insensitive) and `chatID` fail.
    public func failNext(_ count: Int = 1, method: String? = nil, chatID: Int64? = nil, with failure: TelegramFailure) {
        guard count > 0 else { return }
        state.withLock {
            $0.failures.append(.init(remaining: count, method: method?.lowercased(), chatID: chatID, failure: failure))
        }
    }

    /// Answers 429 once a chat has received this many messages within one second (nil = off).
    public func setFloodControl(perChatPerSecond: Int?) {
        state.withLock {
            $0.floodLimit = perChatPerSecond
            $0.floodLog = [:]
        }
    }

    /// Moves the simulator's clock (message dates, the 48-hour delete rule) forward.
    public func advanceClock(by seconds: TimeInterval) {
        state.withLock { $0.clockOffset += seconds }
    }

    /// The simulator's current time (wall clock plus `advanceClock`).
    public var now: Date { state.withLock { $0.now } }

    // MARK: Inspection

    /// Messages in a chat in the order they were created, deleted ones included (flagged).
    /// - Parameter includeInjected: also list messages created with `injectMessage`.
    public func messages(inChat chatID: Int64, includeInjected: Bool = false) -> [SentMessage] {
        state.withLock { state in
            guard let chat = state.chats[chatID] else { return [] }
            return chat.order.compactMap { chat.messages[$0] }.filter { includeInjected || !$0.isInjected }
        }
    }

    public func message(chatID: Int64, messageID: Int) -> SentMessage? {
        state.withLock { $0.chats[chatID]?.messages[messageID] }
    }

    /// Every call the simulator answered, in order.
    public var allCalls: [Call] { state.withLock { $0.calls } }

    public func calls(method: String) -> [Call] {
        allCalls.filter { $0.method.lowercased() == method.lowercased() }
    }

    public func webhook(forBot token: String) -> Webhook? {
        state.withLock { state in
            guard let bot = state.bots[token], let hook = bot.webhook else { return nil }
            return Webhook(
                url: hook.url, secretToken: hook.secretToken, allowedUpdates: hook.allowedUpdates,
                maxConnections: hook.maxConnections, pendingUpdateCount: bot.pending.count,
                lastErrorDate: hook.lastErrorDate, lastErrorMessage: hook.lastErrorMessage)
        }
    }

    /// Updates queued for a bot: unconfirmed by getUpdates, or not yet accepted by its webhook.
    public func pendingUpdates(forBot token: String) -> [SimulatorJSON] {
        state.withLock { $0.bots[token]?.pending.map(\.payload) ?? [] }
    }
}
