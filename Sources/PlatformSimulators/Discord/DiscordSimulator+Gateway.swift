public import Foundation

/// The Gateway side of the Discord simulator: `<base>/gateway` speaks Gateway v10 JSON, Get
/// Gateway Bot points there, and messages people post (or bots and webhooks create through
/// REST) reach every session as MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE.
extension DiscordSimulator {
    /// Counters for one bot's Gateway use.
    public struct GatewayStats: Sendable, Equatable {
        public var identifies = 0
        public var resumes = 0
        /// Connections that identified or resumed.
        public var connections = 0
        public var live = 0
        /// The most connections of this bot ever open at once.
        public var maxLive = 0
        public var heartbeats = 0
        /// Events re-sent on resumes.
        public var replayed = 0
    }

    /// A file a person attaches to a message.
    public struct UserUpload: Sendable {
        public var filename: String
        public var contentType: String?
        public var bytes: Data

        public init(filename: String, contentType: String?, bytes: Data) {
            self.filename = filename
            self.contentType = contentType
            self.bytes = bytes
        }
    }

    public var gatewayURL: String { state.withLock { $0.baseURL } + "/gateway" }

    public func gatewayStats(token: String) -> GatewayStats { gateway.stats(token) }

    /// Milliseconds between heartbeats that Hello asks for (Discord: about 41 s).
    public func setHeartbeatInterval(milliseconds: Int) {
        gateway.state.withLock { $0.heartbeatInterval = milliseconds }
    }

    /// Closes the bot's open Gateway connections with `code` (4000 for a plain drop, 4014 for
    /// disallowed intents, …). Events posted meanwhile wait in the session for a resume.
    public func closeGatewayConnections(token: String, code: UInt16 = 4000) {
        gateway.send(.close(code), token: token)
    }

    /// Takes the Gateway down (new connections are refused, open ones closed with 1001) or up.
    public func setGatewayAvailable(_ available: Bool) {
        gateway.state.withLock { $0.available = available }
        if !available { gateway.send(.close(1001), token: "") }
    }

    /// What Get Gateway Bot reports as the day's remaining session starts.
    public func setSessionStartLimit(remaining: Int, resetAfterMilliseconds: Int) {
        gateway.state.withLock {
            $0.sessionStartRemaining = remaining
            $0.sessionStartResetAfter = resetAfterMilliseconds
        }
    }

    /// Sends op 7 Reconnect to the bot's connections.
    public func requestGatewayReconnect(token: String) {
        gateway.send(.text(#"{"op":7,"d":null,"s":null,"t":null}"#), token: token)
    }

    /// Sends op 9 Invalid Session; not resumable also forgets the session.
    public func invalidateGatewaySession(token: String, resumable: Bool) {
        gateway.invalidate(token: token, resumable: resumable)
    }

    /// Identify with the message-content intent is refused with close code 4014.
    public func denyMessageContentIntent(token: String) {
        _ = gateway.state.withLock { $0.deniedMessageContent.insert(token) }
    }

    /// Heartbeats of the bot go unacknowledged (a zombie connection).
    public func stopAcknowledgingHeartbeats(token: String) {
        _ = gateway.state.withLock { $0.silentHeartbeats.insert(token) }
    }

    /// A person, shown with this name in messages and mentions.
    public func addUser(id: String, username: String, globalName: String? = nil) {
        state.withLock { $0.users[id] = .init(id: id, username: username, globalName: globalName) }
    }

    public func addRole(guildID: String, id: String, name: String) {
        state.withLock { $0.roles[id] = .init(id: id, guildID: guildID, name: name) }
    }

    /// A person posts in a channel; returns the message id. The Gateway dispatches it.
    @discardableResult
    public func postUserMessage(
        channelID: String, authorID: String, content: String, uploads: [UserUpload] = [], replyTo: String? = nil
    ) throws -> String {
        let id = try state.withLock { state throws(SimulatorError) -> String in
            guard let channel = state.channels[channelID] else {
                throw SimulatorError("no channel \(channelID); call addChannel first")
            }
            let now = state.now
            let id = state.snowflakes.next(at: now)
            let attachments = uploads.map { upload -> Attachment in
                let attachmentID = state.snowflakes.next(at: now)
                return Attachment(
                    id: attachmentID, filename: upload.filename, size: upload.bytes.count,
                    contentType: upload.contentType ?? Self.guessContentType(upload.filename), description: nil,
                    bytes: upload.bytes,
                    url:
                        "\(state.baseURL)/attachments/\(channelID)/\(attachmentID)/"
                        + FormURLEncoding.percentEncode(upload.filename))
            }
            let reference = replyTo.map {
                MessageReference(messageID: $0, channelID: channelID, guildID: channel.guildID, failIfNotExists: nil)
            }
            state.store(
                PostedMessage(
                    id: id, channelID: channelID, authorID: authorID, content: content, username: nil,
                    avatarURL: nil, webhookID: nil, attachments: attachments, embeds: [], messageReference: reference,
                    nonce: nil, enforceNonce: false, allowedMentions: nil, stickerIDs: [], tts: false, flags: 0,
                    timestamp: now, editedTimestamp: nil, edits: [], deleted: false, isInjected: true))
            return id
        }
        flushGateway()
        return id
    }

    /// A person edits their message.
    public func editUserMessage(id: String, content: String) throws {
        try state.withLock { state throws(SimulatorError) in
            guard var message = state.messages[id], !message.deleted else { throw SimulatorError("no message \(id)") }
            message.edits.append(
                Edit(
                    content: message.content, embeds: message.embeds, attachments: message.attachments,
                    replacedAt: state.now))
            message.content = content
            message.editedTimestamp = state.now
            state.store(message)
        }
        flushGateway()
    }

    /// A person deletes their message.
    public func deleteUserMessage(id: String) throws {
        try state.withLock { state throws(SimulatorError) in
            guard var message = state.messages[id], !message.deleted else { throw SimulatorError("no message \(id)") }
            message.deleted = true
            state.store(message)
        }
        flushGateway()
    }

    /// Sends what `DiscordState.store` noted to the Gateway, as the message is now.
    func flushGateway() {
        // Without a session nobody would read them (and building them costs, under load).
        let listening = gateway.state.withLock { state in state.sessions.values.contains { !$0.invalid } }
        let events = state.withLock { state -> [(String, SimulatorJSON)] in
            defer { state.gatewayOutbox = [] }
            guard listening, !state.gatewayOutbox.isEmpty else { return [] }
            return state.gatewayOutbox.compactMap { event, id in
                guard let message = state.messages[id] else { return nil }
                let guild = state.channels[message.channelID]?.guildID
                if event == "MESSAGE_DELETE" {
                    return (
                        event,
                        ["id": .string(id), "channel_id": .string(message.channelID), "guild_id": .optional(guild)]
                    )
                }
                var json = messageJSON(message, in: state).objectValue ?? [:]
                json["guild_id"] = .optional(guild)
                json["mentions"] = .array(
                    Self.mentionedIDs(in: message.content, prefix: "<@").compactMap { state.users[$0] }.map {
                        [
                            "id": .string($0.id), "username": .string($0.username),
                            "global_name": .optional($0.globalName),
                        ]
                    })
                json["mention_roles"] = .array(
                    Self.mentionedIDs(in: message.content, prefix: "<@&").map { .string($0) })
                return (event, .object(json))
            }
        }
        for (event, data) in events { gateway.dispatch(event, data: data) }
    }

    /// Guild objects as GUILD_CREATE carries them: channels and roles by name.
    func guildsJSON() -> [SimulatorJSON] {
        state.withLock { state in
            let guildIDs = Set(state.channels.values.compactMap(\.guildID))
            return guildIDs.sorted().map { guildID in
                [
                    "id": .string(guildID), "name": .string("Guild \(guildID.suffix(4))"),
                    "channels": .array(
                        state.channels.values.filter { $0.guildID == guildID }.map {
                            ["id": .string($0.id), "name": .string($0.name), "type": .int(Int64($0.type))]
                        }),
                    "roles": .array(
                        state.roles.values.filter { $0.guildID == guildID }.map {
                            ["id": .string($0.id), "name": .string($0.name)]
                        }),
                ]
            }
        }
    }

    func gatewayBotUser(token: String) -> SimulatorJSON? {
        state.withLock { state in state.bots[token].map(botUserJSON) }
    }

    /// Snowflakes after `prefix` in `<@id>`, `<@!id>` or `<@&id>` mentions.
    static func mentionedIDs(in content: String, prefix: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(content)
        while let start = rest.range(of: prefix) {
            var tail = rest[start.upperBound...]
            if prefix == "<@" {
                if tail.first == "&" {
                    rest = tail
                    continue
                }
                if tail.first == "!" { tail = tail.dropFirst() }
            }
            let digits = tail.prefix(while: \.isNumber)
            if !digits.isEmpty, tail.dropFirst(digits.count).first == ">" { ids.append(String(digits)) }
            rest = tail
        }
        return ids
    }
}
