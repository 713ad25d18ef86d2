import Forwarding
import Foundation
import Hummingbird
import JobQueue
import PostgresNIO
import Store

/// Lets through only admins connecting from `admin.allowedNetworks`; runs after `Authenticator`.
struct AdminGuard: RouterMiddleware {
    typealias Context = AppRequestContext
    let allowedNetworks: [IPNetwork]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let address = context.clientAddress, allowedNetworks.contains(where: { $0.contains(address) }) else {
            throw APIError(
                .forbidden, code: "admin_network_refused",
                "the admin API is not reachable from this address (see admin.allowedNetworks)")
        }
        guard try context.caller().isAdmin else {
            throw APIError(.forbidden, code: "admin_required", "this endpoint is for administrators")
        }
        return try await next(request, context)
    }
}

/// `/v1/admin`: users, plans, suspension, queue, settings and errors across all users.
struct AdminController {
    let api: APIServices
    let queue: JobQueue
    let client: PostgresClient

    struct UserUpdate: Decodable {
        var plan: PlanTier?
        var status: String?
        var reason: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("users", use: users)
        group.patch("users/:id", use: updateUser)
        group.get("queue", use: queueStats)
        group.post("jobs/:id/retry", use: retryJob)
        group.get("errors", use: errors)
        group.get("settings", use: settings)
        group.put("settings/:key", use: putSetting)
    }

    @Sendable func users(_ request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try PairsController.limit(query.get("limit"))
        let found = try await api.users.search(query.get("q") ?? "", limit: limit)
        return try APIFormat.response(["items": found.map(AuthController.UserBody.init)])
    }

    /// Changes a user's plan (pausing what the new plan cannot hold) and/or suspends or
    /// reinstates them. Suspension pauses every pair and revokes every session and API key.
    @Sendable func updateUser(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try APIFormat.id(context, what: "user")
        let body = try await APIFormat.decode(UserUpdate.self, from: request, context: context)
        guard var user = try await api.users.find(id: id) else { throw APIError.notFound("no user \(id)") }
        if id == (try context.caller().userID) && body.status == "suspended" {
            throw APIFormat.validation("status", "an administrator cannot suspend their own account")
        }
        var paused: [Int64] = []
        if let plan = body.plan {
            user = try await api.users.setPlan(id: id, plan: plan.rawValue)
            paused += try await api.applyPlan(plan, userID: id)
        }
        switch body.status {
        case nil:
            break
        case "suspended":
            let reason = body.reason ?? "suspended by an administrator"
            user = try await api.users.setStatus(id: id, status: "suspended", reason: reason)
            let suspended = try await api.pairs.pause(userID: id, ids: nil, reason: "account suspended")
            api.announce(suspended, userID: id, type: "pair.paused", reason: "account suspended")
            paused += suspended
            try await api.sessions.revokeAll(userID: id, reason: "account suspended")
            try await api.keys.revokeAll(userID: id)
        case "active":
            user = try await api.users.setStatus(id: id, status: "active", reason: nil)
        default:
            throw APIFormat.validation("status", "must be active or suspended")
        }
        struct Result: Encodable {
            var user: AuthController.UserBody
            var pausedPairs: [Int64]
        }
        return try APIFormat.response(Result(user: .init(user), pausedPairs: Array(Set(paused)).sorted()))
    }

    @Sendable func queueStats(_ request: Request, context: AppRequestContext) async throws -> Response {
        let stats = try await queue.stats()
        struct Body: Encodable {
            var byState: [String: Int]
            var byLane: [String: Int]
            var byKind: [String: Int]
            var oldestDueSeconds: Double
        }
        var body = Body(byState: [:], byLane: [:], byKind: [:], oldestDueSeconds: stats.oldestDueSeconds)
        for group in stats.groups {
            body.byState[group.state.rawValue, default: 0] += group.count
            if group.state == .available || group.state == .running {
                body.byLane[group.lane.description, default: 0] += group.count
                body.byKind[group.kind, default: 0] += group.count
            }
        }
        return try APIFormat.response(body)
    }

    @Sendable func retryJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try APIFormat.id(context, what: "job")
        do {
            try await queue.retry(id: id)
        } catch let error as JobQueueError {
            switch error {
            case .notFound: throw APIError.notFound(error.description)
            default: throw APIError(.conflict, code: "conflict", error.description)
            }
        }
        return try APIFormat.response(["id": id], status: .accepted)
    }

    @Sendable func errors(_ request: Request, context: AppRequestContext) async throws -> Response {
        let limit = try PairsController.limit(request.uri.queryParameters.get("limit"))
        struct Item: Encodable {
            var id: Int64
            var userId: Int64?
            var pairId: Int64?
            var source: String
            var code: String
            var message: String
            var createdAt: Date
        }
        let items = try await client.query(
            """
            SELECT id, user_id, pair_id, source, code, message, created_at FROM error_logs
            ORDER BY created_at DESC LIMIT \(Int64(limit))
            """
        ).collect().map { row in
            let r = try row.decode((Int64, Int64?, Int64?, String, String, String, Date).self)
            return Item(id: r.0, userId: r.1, pairId: r.2, source: r.3, code: r.4, message: r.5, createdAt: r.6)
        }
        return try APIFormat.response(["items": items])
    }

    @Sendable func settings(_ request: Request, context: AppRequestContext) async throws -> Response {
        let rows = try await client.query("SELECT key, value::text FROM system_settings ORDER BY key").collect()
        var object: [String: Any] = [:]
        for row in rows {
            let (key, value) = try row.decode((String, String).self)
            object[key] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])
        }
        let data = try JSONSerialization.data(withJSONObject: ["settings": object], options: [.sortedKeys])
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Sets one setting to the JSON value in the body.
    @Sendable func putSetting(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let key = context.parameters.get("key"),
            key.range(of: "^[a-z][a-z0-9_.]{0,99}$", options: .regularExpression) != nil
        else {
            throw APIFormat.validation("key", "lower-case letters, digits, '.' and '_', starting with a letter")
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let data = Data(buffer: buffer)
        guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
            throw APIError.badRequest("invalid_json", "the body must be the setting's value as JSON")
        }
        let text = String(decoding: data, as: UTF8.self)
        try await client.query(
            """
            INSERT INTO system_settings (key, value, updated_by) VALUES (\(key), \(text)::jsonb, \(try context.caller().userID))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = now()
            """)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
