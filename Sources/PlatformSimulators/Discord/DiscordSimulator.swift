public import Foundation
import Synchronization

/// An in-process fake of Discord's REST API (v10) over real HTTP on loopback: bot-authenticated
/// channel message routes, webhook execution, Discord's error codes and form errors, and
/// enforced rate-limit buckets with the real headers. The API lives under `base + "/api/v10"`.
public final class DiscordSimulator: Sendable {
    let state = Mutex(DiscordState())
    let server = Mutex<SimulatorServer?>(nil)
    let gateway = DiscordGatewayHub()

    /// Per-file and per-request upload limits of a bot without boosts.
    static let maxFileSize = 10 * 1024 * 1024
    static let maxRequestSize = 25 * 1024 * 1024

    let servesGateway: Bool

    /// - Parameter servesGateway: false serves REST only (plain HTTP/1.1, as the benchmarks want).
    public init(servesGateway: Bool = true) {
        self.servesGateway = servesGateway
    }

    /// Starts serving and returns the base URL ("http://127.0.0.1:51234", no trailing slash).
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws -> String {
        let newServer = SimulatorServer(
            name: "discord", maxBodySize: Self.maxRequestSize + 1024 * 1024,
            webSocket: servesGateway ? gatewayRoute : nil
        ) { [self] request in
            let response = await handle(request)
            flushGateway()
            return response
        }
        let installed = server.withLock { current -> Bool in
            guard current == nil else { return false }
            current = newServer
            return true
        }
        guard installed else { throw SimulatorError("the discord simulator is already running") }
        do {
            let boundPort = try await newServer.start(host: host, port: port)
            let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(boundPort)"
            state.withLock { $0.baseURL = base }
            gateway.state.withLock { $0.baseURL = "ws" + base.dropFirst("http".count) }
            return base
        } catch {
            server.withLock { $0 = nil }
            throw error
        }
    }

    private var gatewayRoute: SimulatorServer.WebSocketRoute {
        { [self] path, _ in
            guard path == "/gateway", gateway.state.withLock({ $0.available }) else { return nil }
            return gateway.handler(guilds: { self.guildsJSON() }, bots: { self.gatewayBotUser(token: $0) })
        }
    }

    /// Stops serving. The recorded state stays for inspection.
    public func stop() async {
        let current = server.withLock { current -> SimulatorServer? in
            defer { current = nil }
            return current
        }
        await current?.stop()
    }

    // MARK: Setup

    public func addBot(token: String, userID: String, applicationID: String, username: String) {
        state.withLock {
            $0.bots[token] = .init(token: token, userID: userID, applicationID: applicationID, username: username)
        }
    }

    /// - Parameters:
    ///   - parentID: makes the channel a thread of that channel (webhooks post to it with thread_id).
    ///   - type: Discord's channel type (0 text, 5 announcement, 11 public thread, …).
    public func addChannel(id: String, guildID: String?, name: String, parentID: String? = nil, type: Int? = nil) {
        state.withLock { state in
            var channel = state.channels[id] ?? .init(id: id, guildID: guildID, name: name, type: 0)
            channel.guildID = guildID
            channel.name = name
            channel.parentID = parentID
            channel.type = type ?? (parentID == nil ? 0 : 11)
            state.channels[id] = channel
        }
    }

    /// Bots may send everywhere unless told otherwise.
    public func setPermission(botToken: String, channelID: String, canSend: Bool) {
        state.withLock { state in
            let key = DiscordState.PermissionKey(token: botToken, channelID: channelID)
            if canSend {
                state.denied.remove(key)
            } else {
                state.denied.insert(key)
            }
        }
    }

    public func addWebhook(id: String, token: String, channelID: String, name: String) {
        state.withLock { $0.webhooks[id] = .init(id: id, token: token, channelID: channelID, name: name) }
    }

    /// The URL the gateway would store for a webhook: `<base>/api/v10/webhooks/<id>/<token>`.
    public func webhookURL(id: String) -> String? {
        state.withLock { state in
            state.webhooks[id].map { "\(state.baseURL)/api/v10/webhooks/\($0.id)/\($0.token)" }
        }
    }

    /// Sets the rate-limit bucket for one channel's routes, one webhook's routes, or (both nil)
    /// the default for everything else. Open windows restart with the new limit.
    public func setBucket(limit: Int, resetAfter: Double, channelID: String? = nil, webhookID: String? = nil) {
        state.withLock { state in
            let value = DiscordRateLimiter.Limit(limit: max(1, limit), resetAfter: max(0.001, resetAfter))
            if let webhookID {
                state.rateLimiter.webhookLimits[webhookID] = value
            } else if let channelID {
                state.rateLimiter.channelLimits[channelID] = value
            } else {
                state.rateLimiter.defaultLimit = value
            }
            state.rateLimiter.reset()
        }
    }

    /// Makes the next `count` requests matching `route` and `channelID` fail.
    /// - Parameter route: e.g. "POST /channels/{id}/messages" or "/webhooks/{id}/{token}" (any
    ///   method); placeholder names do not matter. nil matches any route.
    public func failNext(_ count: Int = 1, route: String? = nil, channelID: String? = nil, with failure: DiscordFailure)
    {
        guard count > 0 else { return }
        state.withLock {
            $0.failures.append(
                .init(
                    remaining: count, route: route.map(DiscordState.normalizedRoute), channelID: channelID,
                    failure: failure))
        }
    }

    /// Moves the simulator's clock (timestamps, the enforce_nonce window) forward.
    public func advanceClock(by seconds: TimeInterval) {
        state.withLock { $0.clockOffset += seconds }
    }

    /// Creates a message as if a user posted it (a target for replies) and returns its id.
    @discardableResult
    public func injectMessage(channelID: String, content: String, authorID: String = "100000000000000001")
        throws -> String
    {
        let id = try state.withLock { state throws(SimulatorError) -> String in
            guard state.channels[channelID] != nil else {
                throw SimulatorError("no channel \(channelID); call addChannel first")
            }
            let now = state.now
            let id = state.snowflakes.next(at: now)
            state.store(
                PostedMessage(
                    id: id, channelID: channelID, authorID: authorID, content: content, username: nil, avatarURL: nil,
                    webhookID: nil, attachments: [], embeds: [], messageReference: nil, nonce: nil, enforceNonce: false,
                    allowedMentions: nil, stickerIDs: [], tts: false, flags: 0, timestamp: now, editedTimestamp: nil,
                    edits: [], deleted: false, isInjected: true))
            return id
        }
        flushGateway()
        return id
    }

    // MARK: Inspection

    /// Messages in a channel (or thread) in creation order, deleted ones included (flagged).
    public func messages(inChannel channelID: String, includeInjected: Bool = false) -> [PostedMessage] {
        state.withLock { state in
            (state.channels[channelID]?.order ?? []).compactMap { state.messages[$0] }
                .filter { includeInjected || !$0.isInjected }
        }
    }

    /// How many messages were created through the API so far (in every channel), without
    /// copying any: cheap enough to poll while a benchmark sends.
    public var createdMessageCount: Int { state.withLock { $0.created } }

    public func message(id: String) -> PostedMessage? {
        state.withLock { $0.messages[id] }
    }

    /// Every request the simulator answered, in order.
    public var allRequests: [Request] { state.withLock { $0.requests } }
}
