import Foundation
import JobQueue
import NIOHTTP1
import Store
import TestSupport
import Testing

@testable import Gateway

@Suite(.database, .timeLimit(.minutes(3))) struct APIKeyTests {
    @Test func keysAreEliteOnlyShownOnceAndLimitedToTheirScopes() async throws {
        try await TestApp.with { app in
            let pro = try await app.signUp("pro@example.test", plan: "pro")
            let refused = try await app.api(
                .POST, "/v1/api-keys", token: pro.accessToken, json: ["name": "ci", "scopes": ["pairs:read"]])
            #expect(refused.status == 403)
            #expect(try refused.errorMessage() == "the Pro plan has no API keys; upgrade to Elite to lift this limit")

            let elite = try await app.signUp("elite@example.test", plan: "elite")
            let badScope = try await app.api(
                .POST, "/v1/api-keys", token: elite.accessToken, json: ["name": "ci", "scopes": ["everything"]])
            #expect(badScope.status == 422)
            let created = try await app.api(
                .POST, "/v1/api-keys", token: elite.accessToken, json: ["name": "ci", "scopes": ["pairs:read"]])
            #expect(created.status == 201, "\(created.body)")
            let body = try created.json()
            let key = try #require(body["key"] as? String)
            let prefix = try #require(body["prefix"] as? String)
            #expect(key.hasPrefix("afx_live_") && key.count == 9 + 12 + 32 + 6)
            #expect(key.hasPrefix(prefix))
            #expect(APIKeyToken(parsing: key) != nil)

            let listed = try await app.api(.GET, "/v1/api-keys", token: elite.accessToken)
            #expect(!listed.body.contains(key))
            #expect(try listed.items().first?["prefix"] as? String == prefix)
            let stored = try await app.app.postgres.query(
                "SELECT count(*) FROM api_keys WHERE key_hash = \(Data(APIKeyToken(parsing: key)!.hash))"
            ).collect().first!.decode(Int64.self)
            #expect(stored == 1)

            let read = try await app.api(.GET, "/v1/pairs", token: key)
            #expect(read.status == 200, "\(read.body)")
            let write = try await app.api(
                .POST, "/v1/pairs", token: key,
                json: pairJSON(source: ("telegram", 1, -1), destination: ("telegram", 1, -2)))
            #expect(write.status == 403)
            #expect(try write.errorCode() == "insufficient_scope")
            let mint = try await app.api(
                .POST, "/v1/api-keys", token: key, json: ["name": "more", "scopes": ["pairs:read"]])
            #expect(mint.status == 403)
            #expect(try mint.errorCode() == "session_required")

            let record = try #require(try await APIKeyRepository(client: app.app.postgres).find(prefix: prefix))
            #expect(record.key.useCount == 3)  // every authenticated request counts, refused ones too
            #expect(record.key.lastUsedAt != nil)

            // One changed character breaks the checksum: refused without a lookup.
            var typo = Array(key)
            typo[20] = typo[20] == "a" ? "b" : "a"
            let mistyped = try await app.api(.GET, "/v1/pairs", token: String(typo))
            #expect(mistyped.status == 401)
            #expect(try mistyped.errorMessage()?.contains("malformed") == true)

            let id = try #require(body.int("id"))
            #expect(try await app.api(.DELETE, "/v1/api-keys/\(id)", token: elite.accessToken).status == 204)
            let revoked = try await app.api(.GET, "/v1/pairs", token: key)
            #expect(revoked.status == 401)
            #expect(try revoked.errorCode() == "api_key_revoked")
        }
    }

    @Test func anExpiredKeyIsRefused() async throws {
        try await TestApp.with { app in
            let elite = try await app.signUp("expiring@example.test", plan: "elite")
            let expiry = Date().addingTimeInterval(6).formatted(.iso8601)
            let created = try await app.api(
                .POST, "/v1/api-keys", token: elite.accessToken,
                json: ["name": "short", "scopes": ["pairs:read"], "expiresAt": expiry])
            #expect(created.status == 201, "\(created.body)")
            let key = try #require(try created.json()["key"] as? String)
            #expect(try await app.api(.GET, "/v1/pairs", token: key).status == 200)
            try await Task.sleep(for: .seconds(6.5))
            let expired = try await app.api(.GET, "/v1/pairs", token: key)
            #expect(expired.status == 401)
            #expect(try expired.errorCode() == "api_key_expired")
        }
    }

    @Test func aDowngradeStopsTheKeys() async throws {
        try await TestApp.with { app in
            let elite = try await app.signUp("was-elite@example.test", plan: "elite")
            let created = try await app.api(
                .POST, "/v1/api-keys", token: elite.accessToken, json: ["name": "ci", "scopes": ["pairs:read"]])
            let key = try #require(try created.json()["key"] as? String)
            _ = try await UserRepository(client: app.app.postgres).setPlan(id: elite.id, plan: "pro")
            let refused = try await app.api(.GET, "/v1/pairs", token: key)
            #expect(refused.status == 403)
            #expect(try refused.errorCode() == "plan_limit")
        }
    }
}

/// Its own suite and plans file: the request limit per key comes from the plan.
@Suite(.database, .timeLimit(.minutes(2))) struct APIRateLimitTests {
    @Test func requestsBeyondThePlansRateAre429WithHeaders() async throws {
        let plans = try String(contentsOfFile: "config/plans.yaml", encoding: .utf8)
            .replacingOccurrences(of: "apiRequestsPerMinute: 1200", with: "apiRequestsPerMinute: 3")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plans-\(UUID().uuidString).yaml")
        try plans.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        try await TestApp.with(configure: { $0.plansFile = path.path }) { app in
            let elite = try await app.signUp("busy@example.test", plan: "elite")
            for remaining in [2, 1, 0] {
                let ok = try await app.api(.GET, "/v1/pairs", token: elite.accessToken)
                #expect(ok.status == 200)
                #expect(ok.header("RateLimit-Limit") == "3")
                #expect(ok.header("RateLimit-Remaining") == "\(remaining)")
            }
            let limited = try await app.api(.GET, "/v1/pairs", token: elite.accessToken)
            #expect(limited.status == 429)
            #expect(try limited.errorCode() == "rate_limited")
            #expect(limited.header("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true)
            // Another user has their own window.
            let other = try await app.signUp("calm@example.test", plan: "elite")
            #expect(try await app.api(.GET, "/v1/pairs", token: other.accessToken).status == 200)
        }
    }
}

@Suite(.database, .timeLimit(.minutes(3))) struct AdminAPITests {
    @Test func onlyAdminsFromAllowedNetworksGetIn() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("plain@example.test")
            let notAdmin = try await app.api(.GET, "/v1/admin/users", token: user.accessToken)
            #expect(notAdmin.status == 403)
            #expect(try notAdmin.errorCode() == "admin_required")
            let admin = try await app.signUp("root@example.test", admin: true)
            let found = try await app.api(.GET, "/v1/admin/users?q=PLAIN", token: admin.accessToken)
            #expect(found.status == 200)
            #expect(try found.items().compactMap { $0["email"] as? String } == ["plain@example.test"])
            #expect(try await app.api(.GET, "/v1/admin/queue", token: admin.accessToken).status == 200)
        }
        try await TestApp.with(configure: { $0.admin.allowedNetworks = [IPNetwork("10.0.0.0/8")!] }) { app in
            let admin = try await app.signUp("far@example.test", admin: true)
            let refused = try await app.api(.GET, "/v1/admin/users", token: admin.accessToken)
            #expect(refused.status == 403)
            #expect(try refused.errorCode() == "admin_network_refused")
        }
    }

    @Test func settingsErrorsAndDiscardedJobs() async throws {
        try await TestApp.with { app in
            let admin = try await app.signUp("settings@example.test", admin: true)
            let put = try await app.api(
                .PUT, "/v1/admin/settings/maintenance.banner", token: admin.accessToken,
                json: ["text": "upgrade tonight", "level": 2])
            #expect(put.status == 200, "\(put.body)")
            let badKey = try await app.api(
                .PUT, "/v1/admin/settings/Not%20A%20Key", token: admin.accessToken, json: true)
            #expect(badKey.status == 422)
            let settings = try await app.api(.GET, "/v1/admin/settings", token: admin.accessToken)
            let banner = (try settings.json()["settings"] as? [String: Any])?["maintenance.banner"] as? [String: Any]
            #expect(banner?["text"] as? String == "upgrade tonight")
            #expect(banner?.int("level") == 2)

            let user = try await app.signUp("broken@example.test")
            try await DeliveryRepository(client: app.app.postgres).logError(
                userID: user.id, pairID: nil, source: "deliver", code: "rejected", message: "chat not found")
            let errors = try await app.api(.GET, "/v1/admin/errors?limit=5", token: admin.accessToken)
            #expect(try errors.items().first?["message"] as? String == "chat not found")
            #expect(try errors.items().first?.int("userId") == user.id)

            #expect(try await app.api(.POST, "/v1/admin/jobs/999999/retry", token: admin.accessToken).status == 404)
            let job = try await app.app.jobQueue.enqueue(
                NewJob(kind: "test.never-handled", payload: ["n": 1], options: .init(delay: .seconds(3600))))
            let running = try await app.api(.POST, "/v1/admin/jobs/\(job.id)/retry", token: admin.accessToken)
            #expect(running.status == 409)
            try await app.app.jobQueue.cancel(id: job.id)
            let retried = try await app.api(.POST, "/v1/admin/jobs/\(job.id)/retry", token: admin.accessToken)
            #expect(retried.status == 202)
            // Queued again (a worker may already have picked it up).
            #expect(try await app.app.jobQueue.job(id: job.id)?.state != .cancelled)
        }
    }

    @Test func aDowngradePausesTheNewestPairsBeyondTheNewPlan() async throws {
        try await TestApp.with { app in
            let admin = try await app.signUp("ops@example.test", admin: true)
            let user = try await app.signUp("shrinking@example.test", plan: "elite")
            let bot = try await app.linkTelegram(user, bot: 9100)
            let webhook = try await app.linkDiscordWebhook(user, name: "news")
            var ids: [Int64] = []
            for chat in 1...4 {
                let response = try await app.api(
                    .POST, "/v1/pairs", token: user.accessToken,
                    json: pairJSON(
                        source: ("telegram", bot, -500),
                        destination: chat == 2 ? ("discord", webhook, 42) : ("telegram", bot, Int64(chat))))
                ids.append(try #require(try response.json().int("id")))
            }
            let changed = try await app.api(
                .PATCH, "/v1/admin/users/\(user.id)", token: admin.accessToken, json: ["plan": "free"])
            #expect(changed.status == 200, "\(changed.body)")
            // Free keeps 2 Telegram→Telegram pairs, oldest first; the Discord one and the newest go.
            #expect(try changed.json()["pausedPairs"] as? [Int] == [ids[1], ids[3]].map(Int.init))
            let pairs = try await PairRepository(client: app.app.postgres).list(userID: user.id)
            #expect(pairs.filter { $0.status == .active }.map(\.id) == [ids[0], ids[2]])
            #expect(pairs.first { $0.id == ids[3] }?.pausedReason == "paused: beyond what the Free plan allows")
            #expect(pairs.count == 4)
        }
    }

    @Test func suspensionPausesPairsAndEndsSessions() async throws {
        try await TestApp.with { app in
            let admin = try await app.signUp("mod@example.test", admin: true)
            let user = try await app.signUp("bad@example.test", plan: "elite")
            let bot = try await app.linkTelegram(user, bot: 9200)
            _ = try await app.api(
                .POST, "/v1/pairs", token: user.accessToken,
                json: pairJSON(source: ("telegram", bot, -600), destination: ("telegram", bot, -601)))
            let key = try #require(
                try await app.api(
                    .POST, "/v1/api-keys", token: user.accessToken, json: ["name": "k", "scopes": ["pairs:read"]]
                ).json()["key"] as? String)

            let suspended = try await app.api(
                .PATCH, "/v1/admin/users/\(user.id)", token: admin.accessToken,
                json: ["status": "suspended", "reason": "spam"])
            #expect(suspended.status == 200)
            #expect((try suspended.json()["user"] as? [String: Any])?["status"] as? String == "suspended")
            #expect(try await PairRepository(client: app.app.postgres).counts(userID: user.id).active == 0)
            #expect(try await app.api(.GET, "/v1/me", token: user.accessToken).status == 401)
            #expect(try await app.api(.GET, "/v1/pairs", token: key).status == 401)
            let login = try await app.api(
                .POST, "/v1/auth/login", json: ["email": "bad@example.test", "password": "correct horse 1"])
            #expect(login.status == 403)
            #expect(try login.errorCode() == "account_suspended")
        }
    }
}
