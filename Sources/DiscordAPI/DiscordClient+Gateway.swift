import Foundation

/// Get Gateway Bot: where to connect and how many sessions may still start.
public struct DiscordGatewayBot: Decodable, Sendable {
    public struct SessionStartLimit: Decodable, Sendable {
        public var total: Int
        public var remaining: Int
        /// Milliseconds until `remaining` resets.
        public var resetAfter: Int
        public var maxConcurrency: Int
    }

    public var url: String
    public var shards: Int?
    public var sessionStartLimit: SessionStartLimit?
}

/// An application command as registered (Bulk Overwrite Global Application Commands).
public struct DiscordCommandDefinition: Codable, Sendable, Equatable {
    public struct Option: Codable, Sendable, Equatable {
        public var type: Int
        public var name: String
        public var description: String
        public var required: Bool?
        public var options: [Option]?
        public var channelTypes: [Int]?

        public init(
            type: Int, name: String, description: String, required: Bool? = nil, options: [Option]? = nil,
            channelTypes: [Int]? = nil
        ) {
            self.type = type
            self.name = name
            self.description = description
            self.required = required
            self.options = options
            self.channelTypes = channelTypes
        }
    }

    public var name: String
    /// 1 chat input (slash), 3 message context menu.
    public var type: Int
    public var description: String
    public var options: [Option]?

    public init(name: String, type: Int, description: String, options: [Option]? = nil) {
        self.name = name
        self.type = type
        self.description = description
        self.options = options
    }
}

extension DiscordClient {
    public func gatewayBot(token: DiscordToken) async throws(DiscordError) -> DiscordGatewayBot {
        let route = "GET /gateway/bot"
        return try decode(
            try await send(.GET, path: "/gateway/bot", route: route, auth: .bot(token)), as: DiscordGatewayBot.self,
            route: route)
    }

    /// Replaces the application's global commands with `commands`.
    public func overwriteCommands(
        applicationID: String, commands: [DiscordCommandDefinition], token: DiscordToken
    ) async throws(DiscordError) -> Int {
        let route = "PUT /applications/\(applicationID)/commands"
        let body: Data
        do {
            body = try JSONEncoder.discord.encode(commands)
        } catch {
            throw DiscordError(kind: .rejected, status: 0, message: "the commands do not encode")
        }
        let data = try await send(
            .PUT, path: "/applications/\(applicationID)/commands", route: route, auth: .bot(token), rawJSON: body)
        return (try? JSONSerialization.jsonObject(with: data) as? [Any])?.count ?? 0
    }

    /// Get Channel Message, as Discord's JSON (callers decode the fields they need).
    public func message(channelID: String, messageID: String, token: DiscordToken) async throws(DiscordError) -> Data {
        try await send(
            .GET, path: "/channels/\(channelID)/messages/\(messageID)", route: "GET /channels/\(channelID)/messages",
            auth: .bot(token))
    }

    /// Edit Original Interaction Response: how a deferred answer is completed (valid 15 minutes).
    public func editOriginalResponse(
        applicationID: String, interactionToken: String, body: DiscordMessageBody
    ) async throws(DiscordError) {
        _ = try await send(
            .PATCH, path: "/webhooks/\(applicationID)/\(interactionToken)/messages/@original",
            route: "PATCH /webhooks/\(applicationID)/interaction", auth: .none, body: body)
    }
}
