import DiscordAPI
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Store

/// `POST /discord/{application}/interactions`: Discord's interaction callbacks. The Ed25519
/// signature over timestamp and raw body is checked (and a stale timestamp refused) before the
/// body is parsed; PING answers PONG; commands answer inline within Discord's 3 s, or defer
/// and finish through a job.
struct DiscordInteractionsController {
    let runtime: ForwardingRuntime
    let accountRepository: AccountRepository
    let maxAge: Duration
    let requestTimeout: Duration

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("discord/:app/interactions") { request, context in
            try await self.receive(request, context: context)
        }
    }

    func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let applicationID = context.parameters.get("app", as: Int64.self) else {
            throw APIError(.notFound, code: "unknown_application", "the path names no Discord application")
        }
        let target: AccountDirectory.DiscordTarget?
        do {
            target = try await withDatabaseDeadline(requestTimeout) {
                try await runtime.accounts.discord(applicationID: applicationID)
            }
        } catch let error where error.isDatabaseUnavailable {
            throw APIError.databaseUnavailable()
        }
        guard let target, let publicKey = target.publicKey else {
            throw APIError(
                .notFound, code: "unknown_application",
                "no Discord application \(applicationID) with a public key is linked here")
        }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let bytes = Array(buffer: body)
        if let failure = InteractionSignature.verify(
            publicKeyHex: publicKey, signatureHex: request.headers[values: .signatureEd25519].first,
            timestamp: request.headers[values: .signatureTimestamp].first, body: bytes, now: Date(), maxAge: maxAge)
        {
            switch failure {
            case .missingHeaders:
                throw APIError.unauthorized(
                    "invalid_signature", "X-Signature-Ed25519 and X-Signature-Timestamp are required")
            case .stale:
                throw APIError.unauthorized("stale_timestamp", "the signature timestamp is too old or in the future")
            case .invalid:
                throw APIError.unauthorized("invalid_signature", "the Ed25519 signature does not verify")
            }
        }
        let interaction: DiscordInteraction
        do {
            interaction = try JSONDecoder.discord.decode(DiscordInteraction.self, from: Data(bytes))
        } catch {
            throw APIError.badRequest("invalid_interaction", "the body is not a Discord interaction")
        }
        let commands = DiscordCommands(runtime: runtime, accountRepository: accountRepository, target: target)
        let response: InteractionResponse
        do {
            switch interaction.type {
            case 1: response = .pong
            case 2: response = try await commands.command(interaction)
            case 3: response = try await commands.component(interaction)
            default: throw APIError.badRequest("unsupported_interaction", "interaction type \(interaction.type)")
            }
        } catch let error where error.isDatabaseUnavailable {
            throw APIError.databaseUnavailable()
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: response.json)))
    }
}

extension HTTPField.Name {
    static var signatureEd25519: Self { Self("X-Signature-Ed25519")! }
    static var signatureTimestamp: Self { Self("X-Signature-Timestamp")! }
}
