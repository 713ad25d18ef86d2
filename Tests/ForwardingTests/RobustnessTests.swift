import Foundation
import Testing

@testable import Forwarding

/// Entities and markup arrive from other platforms' JSON: nothing here may trap on bad input.
@Suite("Robustness against malformed input")
struct RobustnessTests {
    static let hostileEntities: [MessageEntity] = [
        ent(.bold, Int.max, Int.max), ent(.italic, Int.min, Int.max), ent(.code, -1, -1), ent(.pre, 3, Int.min),
        ent(.textLink, Int.max - 1, 5, url: ""), ent(.blockquote, 0, Int.max), ent(.underline, 2, 1),
        ent(.customEmoji, 1, 1, emoji: "\"><script>"),
    ]

    @Test(arguments: ["", "a", "😀", astralText, "<&>*_`\n> x"])
    func renderersClampHostileEntities(text: String) {
        let html = TelegramHTML.render(text, entities: Self.hostileEntities)
        let markdown = DiscordMarkdown.render(text, entities: Self.hostileEntities)
        #expect(!html.contains("<script>"))
        #expect(html.isEmpty == text.isEmpty)
        #expect(markdown.isEmpty == text.isEmpty)
    }

    @Test func splitterAndEditsClampHostileEntities() {
        let text = String(repeating: "word ", count: 50)
        let chunks = MessageSplitter.split(text, entities: Self.hostileEntities, limit: 60, render: TelegramHTML.render)
        #expect(chunks.allSatisfy { TelegramHTML.render($0.text, entities: $0.entities).utf16.count <= 60 })
        let edited = TextEdit.apply(
            [.insert("x", at: Int.max), .delete(-5..<2)], to: text, entities: Self.hostileEntities)
        #expect(edited.text == "rd " + String(repeating: "word ", count: 49) + "x")
        #expect(edited.entities.allSatisfy { $0.offset >= 0 && $0.end <= edited.text.utf16.count })
    }

    @Test func parserSurvivesRandomUnicode() {
        var rng = SeededGenerator(seed: 2024)
        let scalars: [Character] = Array("*_~`|\\[]()<>@#:!-h tps/\n😀é\u{200B}\u{301}")
        for _ in 0..<3000 {
            let markdown = String(
                (0..<Int.random(in: 0...30, using: &rng)).map { _ in scalars.randomElement(using: &rng) ?? "a" })
            let parsed = DiscordMarkdown.parse(markdown)
            let units = Array(parsed.text.utf16)
            for entity in parsed.entities {
                #expect(
                    entity.offset >= 0 && entity.length > 0 && entity.end <= units.count, "\(markdown.debugDescription)"
                )
                #expect(!UTF16Text.splitsPair(entity.offset, in: units) && !UTF16Text.splitsPair(entity.end, in: units))
            }
            _ = DiscordMarkdown.mentions(in: markdown)
        }
    }

    @Test func messageDecodesWithMissingCollections() throws {
        let message = try JSONDecoder().decode(Message.self, from: Data(#"{"text": "hi"}"#.utf8))
        #expect(message == Message(text: "hi"))
        let empty = try JSONDecoder().decode(Message.self, from: Data("{}".utf8))
        #expect(empty == Message())
    }
}
