import Forwarding
import Foundation
import Hummingbird
import NIOCore
import Store

/// What the `/v1` controllers share: repositories, the plan gate, tokens and limits.
public struct APIServices: Sendable {
    public let users: UserRepository
    public let sessions: SessionRepository
    public let keys: APIKeyRepository
    public let pairs: PairRepository
    public let accounts: AccountRepository
    public let gate: PlanGate
    public let tokens: SessionTokens
    public let hasher: PasswordHasher
    public let limiter: RateLimiter
    public let events: LiveEvents
    public let configuration: AppConfig

    /// A downgrade's consequence: pairs beyond the new plan are paused, newest first, with the
    /// reason shown on each. Returns the ids paused.
    public func applyPlan(_ tier: PlanTier, userID: Int64) async throws -> [Int64] {
        let toPause = gate.pairsToPause(plan: tier, pairs: try await pairs.list(userID: userID))
        guard !toPause.isEmpty else { return [] }
        let name = gate.catalog[tier].name
        let reason = "paused: beyond what the \(name) plan allows"
        let paused = try await pairs.pause(userID: userID, ids: toPause.map(\.id), reason: reason)
        announce(paused, userID: userID, type: "pair.paused", reason: reason)
        return paused
    }
}

extension APIServices {
    /// Sign-in attempts per client IP and per email, so neither one address nor many addresses
    /// against one account can guess passwords or codes quickly.
    func limitSignIn(clientAddress: String?, email: String?) async throws {
        let limit = configuration.auth.signInPerMinute
        let ip = try await limiter.hit("signin:ip:\(clientAddress ?? "unknown")", limit: limit)
        if ip.exceeded { throw ip.refusal("sign-in attempts from this address") }
        if let email {
            let account = try await limiter.hit("signin:email:\(email)", limit: limit)
            if account.exceeded { throw account.refusal("sign-in attempts for this account") }
        }
    }

    /// Tells the live feed that these pairs were paused or resumed.
    func announce(_ pairIDs: [Int64], userID: Int64, type: String, reason: String? = nil) {
        for id in pairIDs { events.publish(LiveEvent(userId: userID, type: type, pairId: id, reason: reason)) }
    }
}

/// JSON in and out of the API: camelCase keys, ISO 8601 times.
enum APIFormat {
    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return encoder
    }()

    /// Times in request bodies are ISO 8601, as in responses.
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:])
        throws -> Response
    {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func noContent() -> Response {
        Response(status: .noContent)
    }

    /// Decodes a JSON body; a missing or non-JSON body is 400 with what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: AppRequestContext) async throws
        -> T
    {
        if let contentType = request.headers[.contentType], !contentType.lowercased().hasPrefix("application/json") {
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type", "send the body as application/json")
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("invalid_json", "the request body is empty; this endpoint expects JSON")
        }
        return try decoder.decode(T.self, from: Data(buffer: buffer))
    }

    /// An integer path parameter, 404 when it is not one.
    static func id(_ context: AppRequestContext, _ name: String = "id", what: String) throws -> Int64 {
        guard let text = context.parameters.get(name), let id = Int64(text), id > 0 else {
            throw APIError.notFound("no \(what) \(context.parameters.get(name) ?? "")")
        }
        return id
    }

    static func validation(_ field: String, _ message: String) -> APIError {
        APIError(.unprocessableContent, code: "validation_failed", "\(field): \(message)")
    }
}
