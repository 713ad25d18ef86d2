import Foundation
import PlatformSimulators
import Store
import TestSupport
import Testing

@testable import Gateway

/// Signing in with a code sent through the user's own Telegram bot, after linking their
/// Telegram account with /link.
@Suite(.serialized, .timeLimit(.minutes(3))) struct OneTimeCodeTests {
    static let person = TelegramSimulator.User(id: 5_550_001, firstName: "Ada", username: "ada")

    /// The user's private chat with the source bot, where /link goes and codes arrive.
    func privateChat(_ world: ForwardingWorld) -> Int64 {
        world.telegram.addChat(id: Self.person.id, type: .private, username: "ada")
        return Self.person.id
    }

    func sendToBot(_ world: ForwardingWorld, _ text: String) async throws {
        let message = try world.telegram.injectMessage(chatID: Self.person.id, text: text, from: Self.person)
        try await world.deliver(world.telegram.makeUpdate(message: message))
    }

    @Test func linkThenSignInWithACodeFromTheBot() async throws {
        try await ForwardingWorld.run { world in
            let chat = privateChat(world)
            let session = try await world.app.app.api.tokens.start(userID: world.userID, userAgent: "", ip: nil)

            // Before linking, a code request is accepted but nothing is sent.
            let early = try await world.app.api(.POST, "/v1/auth/otp/request", json: ["email": "owner@example.test"])
            #expect(early.status == 202)

            let start = try await world.app.api(.POST, "/v1/me/telegram-link", token: session.accessToken)
            #expect(start.status == 201, "\(start.body)")
            let linkCode = try #require(try start.json()["code"] as? String)
            try await sendToBot(world, "/link wrongcode")
            try await world.waitUntil("the bot refuses the wrong code") {
                world.telegram.messages(inChat: chat).contains { $0.text?.contains("not valid") == true }
            }
            try await sendToBot(world, "/link \(linkCode)")
            try await world.waitUntil("the bot confirms the link") {
                world.telegram.messages(inChat: chat).contains { $0.text?.hasPrefix("Linked") == true }
            }
            #expect(try await UserRepository(client: world.app.app.postgres).telegramUserID(id: world.userID) == chat)

            let requested = try await world.app.api(
                .POST, "/v1/auth/otp/request", json: ["email": "owner@example.test"])
            #expect(requested.status == 202)
            try await world.waitUntil("the code arrives in the private chat") {
                world.telegram.messages(inChat: chat).contains { $0.text?.contains("sign-in code is") == true }
            }
            let text = try #require(
                world.telegram.messages(inChat: chat).last { $0.text?.contains("sign-in code is") == true }?.text)
            let code = try #require(text.split(separator: " ").first { $0.count == 7 && $0.hasSuffix(".") })
                .dropLast()
            let stored = try await world.count("SELECT count(*) FROM login_codes WHERE purpose = 'signin'")
            #expect(stored == 1)

            let wrongCode = code == "000000" ? "111111" : "000000"
            let wrong = try await world.app.api(
                .POST, "/v1/auth/otp/verify", json: ["email": "owner@example.test", "code": wrongCode])
            #expect(wrong.status == 401)
            #expect(try wrong.errorMessage() == "the code is wrong; 4 tries left")
            let signedIn = try await world.app.api(
                .POST, "/v1/auth/otp/verify", json: ["email": "owner@example.test", "code": String(code)])
            #expect(signedIn.status == 200, "\(signedIn.body)")
            let access = try #require(try signedIn.json()["accessToken"] as? String)
            #expect(try await world.app.api(.GET, "/v1/me", token: access).status == 200)
            // Used once.
            let again = try await world.app.api(
                .POST, "/v1/auth/otp/verify", json: ["email": "owner@example.test", "code": String(code)])
            #expect(again.status == 401)
        }
    }

    @Test func fiveWrongTriesKillTheCode() async throws {
        try await ForwardingWorld.run { world in
            let chat = privateChat(world)
            try await UserRepository(client: world.app.app.postgres).setTelegramUserID(
                id: world.userID, telegramUserID: chat)
            _ = try await world.app.api(.POST, "/v1/auth/otp/request", json: ["email": "owner@example.test"])
            try await world.waitUntil("the code arrives") {
                world.telegram.messages(inChat: chat).contains { $0.text?.contains("sign-in code is") == true }
            }
            let text = try #require(world.telegram.messages(inChat: chat).last?.text)
            let code = String(
                try #require(text.split(separator: " ").first { $0.count == 7 && $0.hasSuffix(".") }).dropLast())
            let wrongCode = code == "000000" ? "111111" : "000000"
            var codes: [String?] = []
            for _ in 0..<5 {
                codes.append(
                    try await world.app.api(
                        .POST, "/v1/auth/otp/verify", json: ["email": "owner@example.test", "code": wrongCode]
                    ).errorCode())
            }
            #expect(codes == ["invalid_code", "invalid_code", "invalid_code", "invalid_code", "code_exhausted"])
            let right = try await world.app.api(
                .POST, "/v1/auth/otp/verify", json: ["email": "owner@example.test", "code": code])
            #expect(right.status == 401)
            #expect(try right.errorCode() == "code_exhausted")
        }
    }
}
