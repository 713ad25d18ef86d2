import Foundation
import TestSupport
import Testing

@testable import Gateway

@Suite(.database, .timeLimit(.minutes(3))) struct AuthAPITests {
    @Test func registerSignInAndTheirFailurePaths() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("ada@example.test")
            let me = try await app.api(.GET, "/v1/me", token: user.accessToken)
            #expect(me.status == 200, "\(me.body)")
            let body = try me.json()
            #expect((body["user"] as? [String: Any])?["email"] as? String == "ada@example.test")
            #expect((body["limits"] as? [String: Any])?["maxPairs"] as? Int == 2)
            #expect(me.header("RateLimit-Limit") == "60")

            let again = try await app.api(
                .POST, "/v1/auth/register", json: ["email": "ADA@example.test", "password": "another pass"])
            #expect(again.status == 409)
            #expect(try again.errorCode() == "email_taken")

            let badEmail = try await app.api(
                .POST, "/v1/auth/register", json: ["email": "not-an-email", "password": "long enough"])
            #expect(badEmail.status == 422)
            #expect(try badEmail.errorMessage()?.hasPrefix("email:") == true)
            let shortPassword = try await app.api(
                .POST, "/v1/auth/register", json: ["email": "b@example.test", "password": "short"])
            #expect(shortPassword.status == 422)
            #expect(try shortPassword.errorMessage()?.hasPrefix("password:") == true)
            let missing = try await app.api(.POST, "/v1/auth/register", json: ["email": "b@example.test"])
            #expect(missing.status == 400)
            #expect(try missing.errorMessage()?.contains("password is missing") == true)
            let notJSON = try await app.client.send(
                .POST, "\(app.baseURL)/v1/auth/login", headers: [("Content-Type", "application/json")],
                body: Array("{nope".utf8))
            #expect(notJSON.status == 400)
            #expect(try notJSON.errorCode() == "invalid_json")

            let wrong = try await app.api(
                .POST, "/v1/auth/login", json: ["email": "ada@example.test", "password": "wrong password"])
            #expect(wrong.status == 401)
            #expect(try wrong.errorCode() == "invalid_credentials")
            let unknown = try await app.api(
                .POST, "/v1/auth/login", json: ["email": "nobody@example.test", "password": "correct horse 1"])
            #expect(unknown.status == 401)
            #expect(try unknown.errorMessage() == (try wrong.errorMessage()))

            let login = try await app.api(
                .POST, "/v1/auth/login", json: ["email": "Ada@Example.test", "password": "correct horse 1"])
            #expect(login.status == 200, "\(login.body)")
            #expect(try login.json()["tokenType"] as? String == "Bearer")
        }
    }

    @Test func requestsWithoutAValidBearerAreRefused() async throws {
        try await TestApp.with { app in
            let none = try await app.api(.GET, "/v1/pairs")
            #expect(none.status == 401)
            #expect(try none.errorCode() == "unauthenticated")
            let garbage = try await app.api(.GET, "/v1/pairs", token: "eyJhbGciOiJIUzI1NiJ9.e30.bad")
            #expect(garbage.status == 401)
            #expect(try garbage.errorCode() == "invalid_token")
            // A token signed with another secret is as good as garbage.
            let otherTokens = SessionTokens(
                secret: String(repeating: "x", count: 40),
                sessions: .init(client: app.app.postgres), accessTTL: .seconds(60), refreshTTL: .seconds(600))
            let user = try await app.signUp("eve@example.test")
            let forged = try await otherTokens.start(userID: user.id, userAgent: "", ip: nil)
            let refused = try await app.api(.GET, "/v1/me", token: forged.accessToken)
            #expect(refused.status == 401)
            #expect(try refused.errorCode() == "invalid_token")
        }
    }

    @Test func refreshTokensRotateAndReuseRevokesTheSession() async throws {
        try await TestApp.with { app in
            let user = try await app.signUp("rot@example.test")
            let first = try await app.api(.POST, "/v1/auth/refresh", json: ["refreshToken": user.refreshToken])
            #expect(first.status == 200, "\(first.body)")
            let rotated = try first.json()
            let newRefresh = try #require(rotated["refreshToken"] as? String)
            let newAccess = try #require(rotated["accessToken"] as? String)
            #expect(newRefresh != user.refreshToken)
            #expect(try await app.api(.GET, "/v1/me", token: newAccess).status == 200)

            // The old token again: someone replayed it. The whole session ends.
            let replay = try await app.api(.POST, "/v1/auth/refresh", json: ["refreshToken": user.refreshToken])
            #expect(replay.status == 401)
            #expect(try replay.errorCode() == "refresh_token_reused")
            let successor = try await app.api(.POST, "/v1/auth/refresh", json: ["refreshToken": newRefresh])
            #expect(successor.status == 401)
            #expect(try successor.errorCode() == "invalid_refresh_token")
            let access = try await app.api(.GET, "/v1/me", token: newAccess)
            #expect(access.status == 401)
            #expect(try access.errorCode() == "session_revoked")
        }
    }

    @Test func sessionsAreListedAndOneCanBeSignedOut() async throws {
        try await TestApp.with { app in
            let phone = try await app.signUp("two@example.test")
            let laptopLogin = try await app.api(
                .POST, "/v1/auth/login", json: ["email": "two@example.test", "password": "correct horse 1"],
                headers: [("User-Agent", "laptop")])
            let laptop = try laptopLogin.json()
            let laptopAccess = try #require(laptop["accessToken"] as? String)

            let list = try await app.api(.GET, "/v1/sessions", token: phone.accessToken)
            #expect(list.status == 200)
            let sessions = try list.items()
            #expect(sessions.count == 2)
            #expect(sessions.filter { $0["current"] as? Bool == true }.count == 1)
            let other = try #require(sessions.first { $0["userAgent"] as? String == "laptop" })
            #expect(other["current"] as? Bool == false)

            let revoke = try await app.api(
                .DELETE, "/v1/sessions/\(try #require(other["id"] as? String))", token: phone.accessToken)
            #expect(revoke.status == 204)
            #expect(try await app.api(.GET, "/v1/me", token: laptopAccess).status == 401)
            #expect(try await app.api(.GET, "/v1/me", token: phone.accessToken).status == 200)
            let refresh = try await app.api(
                .POST, "/v1/auth/refresh", json: ["refreshToken": try #require(laptop["refreshToken"] as? String)])
            #expect(refresh.status == 401)

            let again = try await app.api(
                .DELETE, "/v1/sessions/\(try #require(other["id"] as? String))", token: phone.accessToken)
            #expect(again.status == 404)

            let logout = try await app.api(.POST, "/v1/auth/logout", json: ["refreshToken": phone.refreshToken])
            #expect(logout.status == 204)
            #expect(try await app.api(.GET, "/v1/me", token: phone.accessToken).status == 401)
        }
    }
}

/// Its own suite: the limit counts per address in the suite's database.
@Suite(.database, .timeLimit(.minutes(2))) struct SignInRateLimitTests {
    @Test func signInIsRateLimitedPerAddress() async throws {
        try await TestApp.with(configure: { $0.auth.signInPerMinute = 3 }) { app in
            _ = try await app.signUp("limited@example.test")  // one attempt from this address
            for _ in 0..<2 {
                let attempt = try await app.api(
                    .POST, "/v1/auth/login", json: ["email": "limited@example.test", "password": "wrong password"])
                #expect(attempt.status == 401)
            }
            let refused = try await app.api(
                .POST, "/v1/auth/login", json: ["email": "limited@example.test", "password": "correct horse 1"])
            #expect(refused.status == 429)
            #expect(try refused.errorCode() == "rate_limited")
            let retryAfter = try #require(refused.header("Retry-After").flatMap(Int.init))
            #expect((1...60).contains(retryAfter))
            #expect(refused.header("RateLimit-Limit") == "3")
            #expect(refused.header("RateLimit-Remaining") == "0")
        }
    }
}
