import Foundation
import PlatformSimulators

/// A running Telegram simulator with one bot and a few chats.
struct TelegramFixture {
    static let token = "123456:TEST-token_abc"
    static let botID: Int64 = 123456
    static let group: Int64 = -1001
    static let other: Int64 = -1002
    static let channel: Int64 = -1003

    let sim: TelegramSimulator
    let base: String

    func url(_ method: String, token: String = TelegramFixture.token) -> String {
        "\(base)/bot\(token)/\(method)"
    }

    /// POSTs JSON parameters to a method.
    func call(_ method: String, _ params: SimulatorJSON, token: String = TelegramFixture.token) async throws
        -> HTTPResult
    {
        try await TestHTTP.json(.POST, url(method, token: token), params)
    }

    static func run(_ body: (TelegramFixture) async throws -> Void) async throws {
        let sim = TelegramSimulator()
        sim.addBot(token: token, id: botID, username: "afx_test_bot", firstName: "AFX")
        sim.addChat(id: group, type: .supergroup, title: "Group")
        sim.addChat(id: other, type: .supergroup, title: "Other")
        sim.addChat(id: channel, type: .channel, title: "Channel", username: "afxchannel")
        let base = try await sim.start()
        do {
            try await body(TelegramFixture(sim: sim, base: base))
        } catch {
            await sim.stop()
            throw error
        }
        await sim.stop()
    }
}

extension HTTPResult {
    /// The "description" of a Bot API error answer.
    var telegramDescription: String? { (try? json())?["description"]?.stringValue }
}
