import Foundation
import NIOHTTP1
import Store
import TestSupport
import Testing

@testable import Gateway

/// A signed-in API user of a running test app.
struct APIUser {
    let id: Int64
    let email: String
    var accessToken: String
    var refreshToken: String
}

extension TestApp {
    /// Sends JSON (an encodable dictionary or array) with an optional bearer token.
    func api(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json: Any? = nil,
        headers: [(String, String)] = []
    ) async throws -> TestResponse {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        var body: [UInt8]?
        if let json {
            all.append(("Content-Type", "application/json"))
            body = Array(try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]))
        }
        return try await client.send(method, "\(baseURL)\(path)", headers: all, body: body)
    }

    /// Registers a user through the API, then sets their plan and role in the database.
    func signUp(_ email: String, plan: String = "free", admin: Bool = false) async throws -> APIUser {
        let response = try await api(.POST, "/v1/auth/register", json: ["email": email, "password": "correct horse 1"])
        #expect(response.status == 201, "\(response.body)")
        let json = try response.json()
        let user = try #require(json["user"] as? [String: Any])
        let id = try #require((user["id"] as? NSNumber)?.int64Value)
        if plan != "free" { _ = try await UserRepository(client: app.postgres).setPlan(id: id, plan: plan) }
        if admin {
            try await app.postgres.query("UPDATE users SET role = 'admin' WHERE id = \(id)")
        }
        return APIUser(
            id: id, email: email, accessToken: try #require(json["accessToken"] as? String),
            refreshToken: try #require(json["refreshToken"] as? String))
    }

    /// Links a Telegram bot to the user straight in the database (linking is tested elsewhere).
    func linkTelegram(_ user: APIUser, bot: Int64) async throws -> Int64 {
        try await AccountRepository(client: app.postgres).createTelegram(
            userID: user.id, botUserID: bot, username: "bot\(bot)", tokenCiphertext: [1, 2, 3]
        ).id
    }

    func linkDiscordWebhook(_ user: APIUser, name: String) async throws -> Int64 {
        try await AccountRepository(client: app.postgres).createDiscord(
            userID: user.id, kind: "webhook", applicationID: nil, botUserID: nil, publicKey: nil, username: name,
            tokenCiphertext: [1, 2, 3]
        ).id
    }
}

/// `{"source": …, "destination": …}` for a pair between two chats.
func pairJSON(
    source: (String, Int64, Int64), destination: (String, Int64, Int64), extra: [String: Any] = [:]
) -> [String: Any] {
    var json: [String: Any] = [
        "source": ["platform": source.0, "accountId": source.1, "chatId": source.2],
        "destination": ["platform": destination.0, "accountId": destination.1, "chatId": destination.2],
    ]
    json.merge(extra) { $1 }
    return json
}

extension TestResponse {
    func errorMessage() throws -> String? {
        ((try json())["error"] as? [String: Any])?["message"] as? String
    }

    func items() throws -> [[String: Any]] {
        (try json())["items"] as? [[String: Any]] ?? []
    }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int64? { (self[key] as? NSNumber)?.int64Value }
}
