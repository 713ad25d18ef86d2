import Forwarding
import Foundation
import Hummingbird
import Store

/// `/v1/pairs`: a user's forwarding pairs, their settings and their logs. Every change passes
/// the `PlanGate`; every read and write is scoped to the caller.
struct PairsController {
    let api: APIServices
    let logs: DeliveryRepository

    struct EndpointBody: Codable {
        var platform: Platform
        var accountId: Int64
        var chatId: Int64

        init(_ endpoint: Pair.Endpoint) {
            platform = endpoint.platform
            accountId = endpoint.accountID
            chatId = endpoint.chatID
        }

        var endpoint: Pair.Endpoint { .init(platform: platform, accountID: accountId, chatID: chatId) }
    }

    struct PairBody: Encodable {
        var id: Int64
        var name: String
        var source: EndpointBody
        var destination: EndpointBody
        var status: Pair.Status
        var pausedReason: String?
        var delaySeconds: Int
        var options: PairOptions

        init(_ pair: Pair) {
            id = pair.id
            name = pair.name
            source = EndpointBody(pair.source)
            destination = EndpointBody(pair.destination)
            status = pair.status
            pausedReason = pair.pausedReason
            delaySeconds = pair.delaySeconds
            options = pair.options
        }
    }

    struct CreateBody: Decodable {
        var name: String?
        var source: EndpointBody
        var destination: EndpointBody
        var delaySeconds: Int?
        var options: PairOptions?
    }

    struct UpdateBody: Decodable {
        var name: String?
        var delaySeconds: Int?
        var options: PairOptions?
        var status: Pair.Status?
    }

    struct BulkBody: Decodable {
        enum Action: String, Codable {
            case pause, resume, delete
        }
        var action: Action
        var ids: [Int64]?
    }

    /// A page of a listing; `nextCursor` is null on the last page (written, not left out).
    struct Page<Item: Encodable>: Encodable {
        var items: [Item]
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case items, nextCursor
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(items, forKey: .items)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("pairs", use: list)
        group.post("pairs", use: create)
        group.post("pairs/bulk", use: bulk)
        group.get("pairs/:id", use: show)
        group.patch("pairs/:id", use: update)
        group.delete("pairs/:id", use: delete)
        group.get("pairs/:id/messages", use: messages)
        group.get("pairs/:id/errors", use: errors)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsRead)
        let query = request.uri.queryParameters
        let limit = try Self.limit(query.get("limit"))
        var after: Int64 = 0
        if let cursor = query.get("cursor") {
            guard let id = Int64(cursor), id >= 0 else {
                throw APIError.badRequest("invalid_parameter", "cursor must be a nextCursor from an earlier page")
            }
            after = id
        }
        var filter = PairRepository.PageFilter()
        if let status = query.get("status") {
            guard let value = Pair.Status(rawValue: status) else {
                throw APIError.badRequest("invalid_parameter", "status must be active or paused")
            }
            filter.status = value
        }
        filter.sourcePlatform = try Self.platform(query.get("sourcePlatform"), name: "sourcePlatform")
        filter.destinationPlatform = try Self.platform(query.get("destinationPlatform"), name: "destinationPlatform")
        let pairs = try await api.pairs.page(userID: caller.userID, filter: filter, after: after, limit: limit)
        return try APIFormat.response(
            Page(
                items: pairs.map(PairBody.init), nextCursor: pairs.count == limit ? pairs.last.map { "\($0.id)" } : nil)
        )
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsWrite)
        let body = try await APIFormat.decode(CreateBody.self, from: request, context: context)
        let pair = Pair(
            id: 0, userID: caller.userID, name: body.name ?? "", source: body.source.endpoint,
            destination: body.destination.endpoint, delaySeconds: body.delaySeconds ?? 0,
            options: body.options ?? PairOptions())
        try Self.validate(pair)
        let gate = api.gate
        let created = try await api.pairs.create(pair) { plan, existing in
            try gate.checkNewPair(
                plan: PlanTier(rawValue: plan) ?? .free, existingPairs: existing, source: pair.source.platform,
                destination: pair.destination.platform, delaySeconds: pair.delaySeconds, options: pair.options)
        }
        return try APIFormat.response(
            PairBody(created), status: .created, headers: [.location: "/v1/pairs/\(created.id)"])
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsRead)
        return try APIFormat.response(PairBody(try await owned(context, caller)))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsWrite)
        var pair = try await owned(context, caller)
        let body = try await APIFormat.decode(UpdateBody.self, from: request, context: context)
        if let name = body.name { pair.name = name }
        if let delay = body.delaySeconds { pair.delaySeconds = delay }
        if let options = body.options { pair.options = options }
        try Self.validate(pair)
        if body.delaySeconds != nil || body.options != nil {
            try api.gate.checkPairSettings(
                plan: caller.plan, source: pair.source.platform, destination: pair.destination.platform,
                delaySeconds: pair.delaySeconds, options: pair.options)
        }
        pair = try await api.pairs.update(pair)
        switch (pair.status, body.status) {
        case (.paused, .active):
            _ = try await resume(caller: caller, ids: [pair.id])
        case (.active, .paused):
            _ = try await pause(caller: caller, ids: [pair.id])
        default:
            break
        }
        return try APIFormat.response(PairBody(try await owned(context, caller)))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsWrite)
        let id = try APIFormat.id(context, what: "pair")
        guard try await !api.pairs.delete(userID: caller.userID, ids: [id]).isEmpty else {
            throw APIError.notFound("no pair \(id)")
        }
        return APIFormat.noContent()
    }

    /// Pause all (or the given), resume all (or the given), or delete the given pairs, each in one
    /// transaction: a resume the plan cannot hold is refused whole.
    @Sendable func bulk(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsWrite)
        let body = try await APIFormat.decode(BulkBody.self, from: request, context: context)
        if let ids = body.ids, ids.isEmpty || ids.count > 500 {
            throw APIFormat.validation("ids", "give 1 to 500 pair ids, or leave ids out to mean all pairs")
        }
        let affected: [Int64]
        switch body.action {
        case .pause:
            affected = try await pause(caller: caller, ids: body.ids)
        case .resume:
            affected = try await resume(caller: caller, ids: body.ids)
        case .delete:
            guard let ids = body.ids else {
                throw APIFormat.validation("ids", "delete needs the ids of the pairs to delete")
            }
            affected = try await api.pairs.delete(userID: caller.userID, ids: ids)
        }
        struct Result: Encodable {
            var action: String
            var affected: [Int64]
        }
        return try APIFormat.response(Result(action: body.action.rawValue, affected: affected))
    }

    @Sendable func messages(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsRead)
        let pair = try await owned(context, caller)
        let (limit, cursor) = try Self.logPage(request)
        let page = try await logs.messageLogs(pairID: pair.id, before: cursor, limit: limit)
        struct Item: Encodable {
            var id: Int64
            var sourceMessageId: Int64?
            var destinationMessageId: Int64?
            var event: String
            var outcome: String
            var latencyMs: Int?
            var error: String?
            var createdAt: Date
        }
        return try APIFormat.response(
            Page(
                items: page.items.map {
                    Item(
                        id: $0.id, sourceMessageId: $0.sourceMessageID, destinationMessageId: $0.destMessageID,
                        event: $0.event, outcome: $0.outcome, latencyMs: $0.latencyMS, error: $0.error,
                        createdAt: $0.createdAt)
                }, nextCursor: page.next?.text))
    }

    @Sendable func errors(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.pairsRead)
        let pair = try await owned(context, caller)
        let (limit, cursor) = try Self.logPage(request)
        let page = try await logs.errorLogs(pairID: pair.id, before: cursor, limit: limit)
        struct Item: Encodable {
            var id: Int64
            var source: String
            var code: String
            var message: String
            var createdAt: Date
        }
        return try APIFormat.response(
            Page(
                items: page.items.map {
                    Item(id: $0.id, source: $0.source, code: $0.code, message: $0.message, createdAt: $0.createdAt)
                }, nextCursor: page.next?.text))
    }

    private func pause(caller: Principal, ids: [Int64]?) async throws -> [Int64] {
        let paused = try await api.pairs.pause(userID: caller.userID, ids: ids, reason: "paused by user")
        api.announce(paused, userID: caller.userID, type: "pair.paused", reason: "paused by user")
        return paused
    }

    private func resume(caller: Principal, ids: [Int64]?) async throws -> [Int64] {
        let gate = api.gate
        let resumed = try await api.pairs.resume(userID: caller.userID, ids: ids) { plan, active, resuming in
            let tier = PlanTier(rawValue: plan) ?? .free
            var count = active
            for pair in resuming {
                try gate.checkResume(plan: tier, activePairs: count, pair: pair)
                count += 1
            }
        }
        api.announce(resumed, userID: caller.userID, type: "pair.resumed")
        return resumed
    }

    /// The caller's pair named by the path; 404 for anyone else's (no hint that it exists).
    private func owned(_ context: AppRequestContext, _ caller: Principal) async throws -> Pair {
        let id = try APIFormat.id(context, what: "pair")
        guard let pair = try await api.pairs.find(id: id), pair.userID == caller.userID else {
            throw APIError.notFound("no pair \(id)")
        }
        return pair
    }

    static func validate(_ pair: Pair) throws {
        if pair.name.count > 100 { throw APIFormat.validation("name", "at most 100 characters") }
        if !(0...86400).contains(pair.delaySeconds) {
            throw APIFormat.validation("delaySeconds", "must be 0 to 86400")
        }
        if pair.source.platform == pair.destination.platform && pair.source.chatID == pair.destination.chatID {
            throw APIFormat.validation("destination", "must differ from the source")
        }
        try pair.options.validate()
    }

    static func limit(_ text: String?) throws -> Int {
        guard let text else { return 50 }
        guard let limit = Int(text), (1...100).contains(limit) else {
            throw APIError.badRequest("invalid_parameter", "limit must be 1 to 100")
        }
        return limit
    }

    static func platform(_ text: String?, name: String) throws -> Platform? {
        guard let text else { return nil }
        guard let platform = Platform(rawValue: text) else {
            throw APIError.badRequest("invalid_parameter", "\(name) must be telegram or discord")
        }
        return platform
    }

    static func logPage(_ request: Request) throws -> (Int, LogCursor?) {
        let query = request.uri.queryParameters
        let limit = try limit(query.get("limit"))
        guard let text = query.get("cursor") else { return (limit, nil) }
        guard let cursor = LogCursor(text) else {
            throw APIError.badRequest("invalid_parameter", "cursor must be a nextCursor from an earlier page")
        }
        return (limit, cursor)
    }
}
