import Foundation
import PlatformSimulators
import Testing

typealias Entity = TelegramSimulator.Entity

struct HTMLCase: Sendable, CustomTestStringConvertible {
    var html: String
    var text: String
    var entities: [Entity]
    var testDescription: String { html }
}

struct MalformedHTMLCase: Sendable, CustomTestStringConvertible {
    var html: String
    var error: String
    var testDescription: String { html }
}

@Suite("Telegram parse_mode=HTML")
struct TelegramHTMLParsingTests {
    static let accepted: [HTMLCase] = [
        HTMLCase(
            html: "<b>bold</b> and <i>italic</i>", text: "bold and italic",
            entities: [Entity(type: "bold", offset: 0, length: 4), Entity(type: "italic", offset: 9, length: 6)]),
        HTMLCase(
            html: "<b>a<i>b<u>c</u></i>d</b>", text: "abcd",
            entities: [
                Entity(type: "bold", offset: 0, length: 4), Entity(type: "italic", offset: 1, length: 2),
                Entity(type: "underline", offset: 2, length: 1),
            ]),
        HTMLCase(
            html: "<strong>s</strong> <em>e</em> <ins>i</ins> <del>d</del> <strike>k</strike> <s>t</s>",
            text: "s e i d k t",
            entities: [
                Entity(type: "bold", offset: 0, length: 1), Entity(type: "italic", offset: 2, length: 1),
                Entity(type: "underline", offset: 4, length: 1), Entity(type: "strikethrough", offset: 6, length: 1),
                Entity(type: "strikethrough", offset: 8, length: 1),
                Entity(type: "strikethrough", offset: 10, length: 1),
            ]),
        // 😀 is two UTF-16 units, so the bold starts at 3, not 2.
        HTMLCase(html: "😀 <b>x</b>", text: "😀 x", entities: [Entity(type: "bold", offset: 3, length: 1)]),
        HTMLCase(
            html: "<i>👍🏽 é</i> <b>z</b>", text: "👍🏽 é z",
            entities: [Entity(type: "italic", offset: 0, length: 6), Entity(type: "bold", offset: 7, length: 1)]),
        HTMLCase(
            html: "&lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42;&#x1F600;", text: "<tag> & \"q\" AB😀", entities: []),
        // Telegram keeps unknown named entities and a bare '&' as literal text.
        HTMLCase(html: "a &nbsp; b & c", text: "a &nbsp; b & c", entities: []),
        HTMLCase(
            html: "<a href=\"https://example.com/a?b=1&amp;c=2\">link</a>", text: "link",
            entities: [Entity(type: "text_link", offset: 0, length: 4, url: "https://example.com/a?b=1&c=2")]),
        HTMLCase(
            html: "<a href=\"tg://user?id=42\">Bob</a>", text: "Bob",
            entities: [Entity(type: "text_mention", offset: 0, length: 3, userID: 42)]),
        HTMLCase(
            html: "<pre><code class=\"language-swift\">let x = 1</code></pre>", text: "let x = 1",
            entities: [Entity(type: "pre", offset: 0, length: 9, language: "swift")]),
        HTMLCase(
            html: "<pre>raw</pre> <code>c</code>", text: "raw c",
            entities: [Entity(type: "pre", offset: 0, length: 3), Entity(type: "code", offset: 4, length: 1)]),
        // Entities inside code are dropped by Telegram.
        HTMLCase(html: "<code><b>x</b></code>", text: "x", entities: [Entity(type: "code", offset: 0, length: 1)]),
        HTMLCase(
            html: "<span class=\"tg-spoiler\">s</span> <tg-spoiler>t</tg-spoiler>", text: "s t",
            entities: [Entity(type: "spoiler", offset: 0, length: 1), Entity(type: "spoiler", offset: 2, length: 1)]),
        HTMLCase(
            html: "<blockquote>q</blockquote><blockquote expandable>e</blockquote>", text: "qe",
            entities: [
                Entity(type: "blockquote", offset: 0, length: 1),
                Entity(type: "expandable_blockquote", offset: 1, length: 1),
            ]),
        HTMLCase(
            html: "<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>", text: "👍",
            entities: [Entity(type: "custom_emoji", offset: 0, length: 2, customEmojiID: "5368324170671202286")]),
        HTMLCase(html: "<B>x</B>", text: "x", entities: [Entity(type: "bold", offset: 0, length: 1)]),
        // Surrounding whitespace is trimmed and the entities move with the text.
        HTMLCase(html: "  \n<b>x</b> \n", text: "x", entities: [Entity(type: "bold", offset: 0, length: 1)]),
        // An empty tag produces no entity.
        HTMLCase(html: "a<b></b>b", text: "ab", entities: []),
    ]

    static let rejected: [MalformedHTMLCase] = [
        MalformedHTMLCase(html: "<foo>x</foo>", error: "Unsupported start tag \"foo\" at byte offset 0"),
        MalformedHTMLCase(html: "<b>x", error: "Can't find end tag corresponding to start tag \"b\""),
        MalformedHTMLCase(
            html: "<b>x</i>", error: "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\""),
        MalformedHTMLCase(html: "x</b>", error: "Unexpected end tag at byte offset 1"),
        MalformedHTMLCase(
            html: "<span>x</span>", error: "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0"),
        MalformedHTMLCase(html: "a < b", error: "Unsupported start tag \"\" at byte offset 2"),
        MalformedHTMLCase(html: "<a href=\"x>y", error: "Unclosed start tag at byte offset 0"),
        MalformedHTMLCase(html: "<b", error: "Unclosed start tag at byte offset 0"),
    ]

    @Test(arguments: accepted)
    func parsesLikeTelegram(_ testCase: HTMLCase) async throws {
        try await TelegramFixture.run { fixture in
            let response = try await fixture.call(
                "sendMessage",
                ["chat_id": .int(TelegramFixture.group), "text": .string(testCase.html), "parse_mode": "HTML"])
            #expect(response.status == 200)
            let recorded = try #require(fixture.sim.messages(inChat: TelegramFixture.group).last)
            #expect(recorded.text == testCase.text)
            #expect(recorded.entities == testCase.entities)
            #expect(recorded.rawHTML == testCase.html)
            // The answer carries the same text and entities the simulator recorded.
            let result = try #require(try response.json()["result"])
            #expect(result["text"]?.stringValue == testCase.text)
            #expect((result["entities"]?.arrayValue ?? []).count == testCase.entities.count)
        }
    }

    @Test(arguments: rejected)
    func rejectsMalformedHTML(_ testCase: MalformedHTMLCase) async throws {
        try await TelegramFixture.run { fixture in
            let response = try await fixture.call(
                "sendMessage",
                ["chat_id": .int(TelegramFixture.group), "text": .string(testCase.html), "parse_mode": "html"])
            #expect(response.status == 400)
            #expect(response.telegramDescription == "Bad Request: can't parse entities: \(testCase.error)")
            #expect(fixture.sim.messages(inChat: TelegramFixture.group).isEmpty)
        }
    }

    @Test func explicitEntitiesWinOverParseMode() async throws {
        try await TelegramFixture.run { fixture in
            let response = try await fixture.call(
                "sendMessage",
                [
                    "chat_id": .int(TelegramFixture.group), "text": "<b>x</b>", "parse_mode": "HTML",
                    "entities": [["type": "italic", "offset": 0, "length": 3]],
                ])
            #expect(response.status == 200)
            let recorded = try #require(fixture.sim.messages(inChat: TelegramFixture.group).last)
            #expect(recorded.text == "<b>x</b>")
            #expect(recorded.entities == [Entity(type: "italic", offset: 0, length: 3)])
        }
    }

    @Test func markdownV2RequiresEscapes() async throws {
        try await TelegramFixture.run { fixture in
            let bad = try await fixture.call(
                "sendMessage", ["chat_id": .int(TelegramFixture.group), "text": "Hello.", "parse_mode": "MarkdownV2"])
            #expect(bad.status == 400)
            #expect(
                bad.telegramDescription
                    == "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
            )
            let good = try await fixture.call(
                "sendMessage",
                [
                    "chat_id": .int(TelegramFixture.group), "text": "*bold* _it_ [l](https://x.org) \\.",
                    "parse_mode": "MarkdownV2",
                ])
            #expect(good.status == 200)
            let recorded = try #require(fixture.sim.messages(inChat: TelegramFixture.group).last)
            #expect(recorded.text == "bold it l .")
            #expect(
                recorded.entities == [
                    Entity(type: "bold", offset: 0, length: 4), Entity(type: "italic", offset: 5, length: 2),
                    Entity(type: "text_link", offset: 8, length: 1, url: "https://x.org"),
                ])
        }
    }
}
