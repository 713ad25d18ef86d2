import Testing

@testable import Gateway

/// The name a webhook copy is posted under: Discord refuses "discord" and "clyde" in it (in any
/// case), empty names and names over 80 characters.
@Suite struct DiscordWebhookUsernameTests {
    @Test(arguments: [
        ("Ada Lovelace", "Ada Lovelace"),
        ("Ada Discord Fan", "Ada  Fan"),
        ("DISCORDia", "ia"),
        ("my clyde bot", "my  bot"),
        ("CLYDE", "Telegram"),
        ("  Ada  ", "Ada"),
        ("discord ", "Telegram"),
        ("\u{00A0}Ada\n", "Ada"),
        ("", "Telegram"),
        ("Ada 👩‍💻", "Ada 👩‍💻"),
    ])
    func cleaned(name: String, expected: String) {
        #expect(DiscordDelivery.webhookUsername(name) == expected)
    }

    @Test func longNamesAreCutAt80Characters() {
        let name = String(repeating: "é", count: 100)
        #expect(DiscordDelivery.webhookUsername(name) == String(repeating: "é", count: 80))
    }
}
