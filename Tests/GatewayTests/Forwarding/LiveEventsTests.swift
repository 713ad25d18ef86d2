import Foundation
import HummingbirdWSClient
import Logging
import NIOSSL
import Store
import Synchronization
import TestSupport
import Testing

@testable import Gateway

/// `/v1/events` over a real TLS WebSocket: what the signed-in user sees as it happens.
@Suite(.serialized, .timeLimit(.minutes(3))) struct LiveEventsTests {
    @Test func aForwardedMessageAndAPausedPairReachTheFeed() async throws {
        try await ForwardingWorld.run { world in
            let pair = try await world.pair(to: .discordWebhook)
            let session = try await world.app.app.api.tokens.start(userID: world.userID, userAgent: "", ip: nil)
            let url = world.app.baseURL.replacingOccurrences(of: "https://", with: "wss://") + "/v1/events"
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(world.app.certificates.caPath)
            let received = Received()
            let feed = Task {
                try await WebSocketClient.connect(
                    url: url,
                    configuration: .init(additionalHeaders: [.authorization: "Bearer \(session.accessToken)"]),
                    tlsConfiguration: tls, logger: Logger(label: "test.ws")
                ) { inbound, _, _ in
                    for try await message in inbound.messages(maxSize: 1 << 16) {
                        if case .text(let text) = message { received.append(text) }
                    }
                }
            }
            defer { feed.cancel() }
            try await world.waitUntil("the feed confirms the subscription") {
                received.types.contains("subscribed")
            }

            try await world.post("live!")
            try await world.waitUntil("the forwarded message is announced") {
                received.types.contains("message.forwarded")
            }
            let forwarded = try #require(received.events.first { $0["type"] as? String == "message.forwarded" })
            #expect((forwarded["pairId"] as? NSNumber)?.int64Value == pair.id)
            #expect(forwarded["platform"] as? String == "discord")
            #expect(forwarded["latencyMs"] is NSNumber)

            let paused = try await world.app.api(
                .PATCH, "/v1/pairs/\(pair.id)", token: session.accessToken, json: ["status": "paused"])
            #expect(paused.status == 200)
            try await world.waitUntil("the pause is announced") { received.types.contains("pair.paused") }
            // Only this user's events: another user's feed stays quiet.
            #expect(received.events.allSatisfy { ($0["userId"] as? NSNumber)?.int64Value == world.userID })
        }
    }

}

@Suite(.database, .timeLimit(.minutes(2))) struct LiveEventsAuthTests {
    @Test func theFeedNeedsAValidToken() async throws {
        try await TestApp.with { app in
            let none = try await app.api(.GET, "/v1/events")
            #expect(none.status == 401)
            #expect(try none.errorCode() == "unauthenticated")
            let user = try await app.signUp("feed@example.test")
            let plain = try await app.api(.GET, "/v1/events", token: user.accessToken)
            #expect(plain.status == 426)
            #expect(try plain.errorCode() == "websocket_required")

            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(app.certificates.caPath)
            let url = app.baseURL.replacingOccurrences(of: "https://", with: "wss://") + "/v1/events"
            let connected = Received()
            await #expect(throws: (any Error).self) {
                try await WebSocketClient.connect(
                    url: url + "?access_token=nonsense", tlsConfiguration: tls, logger: Logger(label: "test.ws")
                ) { _, _, _ in connected.append("{}") }
            }
            #expect(connected.events.isEmpty)
        }
    }
}

/// Frames a feed received, readable from the test while the socket task appends.
final class Received: Sendable {
    private let texts = Mutex<[String]>([])

    func append(_ text: String) { texts.withLock { $0.append(text) } }

    var events: [[String: Any]] {
        texts.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    var types: [String] { events.compactMap { $0["type"] as? String } }
}
