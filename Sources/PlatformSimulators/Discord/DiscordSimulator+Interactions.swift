import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOSSL

/// Interactions as Discord sends them: each application has an Ed25519 key pair; an
/// interaction is POSTed to the app's endpoint signed over `timestamp + body`, and the app
/// answers inline or later through the interaction webhook (`…/messages/@original`).
extension DiscordSimulator {
    public struct InteractionReply: Sendable {
        public var status: Int
        public var body: SimulatorJSON?
    }

    /// The application's public key, as the developer portal shows it (64 hex digits).
    public func applicationPublicKey(_ applicationID: String) -> String {
        state.withLock { state in
            let key = state.applicationKeys[applicationID] ?? Curve25519.Signing.PrivateKey()
            state.applicationKeys[applicationID] = key
            return key.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Builds an interaction of `type` (1 PING, 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT) with
    /// a fresh id and token and the usual envelope fields; `data` is the type's data object.
    public func interaction(
        applicationID: String, type: Int, data: SimulatorJSON? = nil, channelID: String? = nil,
        guildID: String? = nil, userID: String = "100000000000000001", permissions: String = "8"
    ) -> SimulatorJSON {
        let (id, token) = state.withLock { state -> (String, String) in
            let id = state.snowflakes.next(at: state.now)
            let token = "interaction-token-\(id)"
            state.interactionTokens[token] = applicationID
            return (id, token)
        }
        var object: [String: SimulatorJSON] = [
            "id": .string(id), "application_id": .string(applicationID), "type": .int(Int64(type)),
            "token": .string(token), "version": 1,
        ]
        if let data { object["data"] = data }
        if let channelID { object["channel_id"] = .string(channelID) }
        if let guildID {
            object["guild_id"] = .string(guildID)
            object["member"] = [
                "user": ["id": .string(userID), "username": .string("user\(userID.suffix(4))")],
                "permissions": .string(permissions),
            ]
        } else {
            object["user"] = ["id": .string(userID), "username": .string("user\(userID.suffix(4))")]
        }
        return .object(object)
    }

    /// POSTs a signed interaction to `url` the way Discord does. `forgeSignature` signs with a
    /// different key; `timestamp` overrides the signing time (Unix seconds).
    public func sendInteraction(
        _ interaction: SimulatorJSON, to url: String, trustingCA caPath: String? = nil, forgeSignature: Bool = false,
        timestamp: Int? = nil
    ) async throws -> InteractionReply {
        let applicationID = interaction["application_id"]?.stringValue ?? ""
        _ = applicationPublicKey(applicationID)
        let key =
            forgeSignature
            ? Curve25519.Signing.PrivateKey() : state.withLock { $0.applicationKeys[applicationID]! }
        let body = interaction.jsonString
        let stamp = String(timestamp ?? Int(Date().timeIntervalSince1970))
        let signature = try key.signature(for: Data((stamp + body).utf8)).map { String(format: "%02x", $0) }.joined()

        var configuration = HTTPClient.Configuration()
        if let caPath {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caPath)
            configuration.tlsConfiguration = tls
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Discord-Interactions/1.0 (+https://discord.com)")
        request.headers.add(name: "X-Signature-Ed25519", value: signature)
        request.headers.add(name: "X-Signature-Timestamp", value: stamp)
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return InteractionReply(
            status: Int(response.status.code), body: try? SimulatorJSON(parsing: Data(buffer: bytes)))
    }

    /// What the app wrote to `…/messages/@original` for an interaction token, latest last.
    public func originalResponseEdits(token: String) -> [SimulatorJSON] {
        state.withLock { $0.originalResponses[token] ?? [] }
    }

    /// The application's commands as last registered.
    public func registeredCommands(applicationID: String) -> [SimulatorJSON] {
        state.withLock { $0.commands[applicationID] ?? [] }
    }

    func registerCommands(applicationID: String, request: SimulatorRequest) throws(DiscordAPIError) -> SimulatorResponse
    {
        guard let list = (try? SimulatorJSON(parsing: Data(request.body)))?.arrayValue else {
            throw .badJSON
        }
        let stored = state.withLock { state -> [SimulatorJSON] in
            let stored = list.map { command -> SimulatorJSON in
                var object = command.objectValue ?? [:]
                object["id"] = .string(state.snowflakes.next(at: state.now))
                object["application_id"] = .string(applicationID)
                return .object(object)
            }
            state.commands[applicationID] = stored
            return stored
        }
        return .json(200, .array(stored))
    }

    func editOriginalResponse(token: String, request: SimulatorRequest) throws(DiscordAPIError) -> SimulatorResponse {
        guard let body = try? SimulatorJSON(parsing: Data(request.body)) else {
            throw .badJSON
        }
        state.withLock { $0.originalResponses[token, default: []].append(body) }
        var message = body.objectValue ?? [:]
        message["id"] = .string(state.withLock { $0.snowflakes.next(at: $0.now) })
        return .json(200, .object(message))
    }
}
