import Testing

@testable import Forwarding

struct RenderCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let entities: [MessageEntity]
    let expected: String
    var testDescription: String { name }

    init(_ name: String, _ text: String, _ entities: [MessageEntity], _ expected: String) {
        self.name = name
        self.text = text
        self.entities = entities
        self.expected = expected
    }
}

@Suite("Telegram HTML renderer")
struct TelegramHTMLTests {
    static let kindsCases: [RenderCase] = [
        RenderCase("bold", "hello world", [ent(.bold, 0, 5)], "<b>hello</b> world"),
        RenderCase("italic", "hello world", [ent(.italic, 6, 5)], "hello <i>world</i>"),
        RenderCase("underline", "hello", [ent(.underline, 0, 5)], "<u>hello</u>"),
        RenderCase("strikethrough", "hello", [ent(.strikethrough, 1, 3)], "h<s>ell</s>o"),
        RenderCase("spoiler", "secret", [ent(.spoiler, 0, 6)], "<span class=\"tg-spoiler\">secret</span>"),
        RenderCase("code", "run ls -la", [ent(.code, 4, 6)], "run <code>ls -la</code>"),
        RenderCase("pre", "x<y", [ent(.pre, 0, 3)], "<pre>x&lt;y</pre>"),
        RenderCase(
            "pre with language", "let a = 1", [ent(.pre, 0, 9, language: "swift")],
            "<pre><code class=\"language-swift\">let a = 1</code></pre>"),
        RenderCase(
            "text link with escaped attribute", "site", [ent(.textLink, 0, 4, url: "https://x.com/?a=1&b=\"2\"")],
            "<a href=\"https://x.com/?a=1&amp;b=&quot;2&quot;\">site</a>"),
        RenderCase(
            "text mention", "Ann", [ent(.textMention, 0, 3, userID: 42)], "<a href=\"tg://user?id=42\">Ann</a>"),
        RenderCase("blockquote", "a\nb", [ent(.blockquote, 0, 3)], "<blockquote>a\nb</blockquote>"),
        RenderCase(
            "expandable blockquote", "long", [ent(.expandableBlockquote, 0, 4)],
            "<blockquote expandable>long</blockquote>"),
        RenderCase(
            "custom emoji", "👍 ok", [ent(.customEmoji, 0, 2, emoji: "5368324170671202286")],
            "<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji> ok"),
        RenderCase("url is plain", "https://a.b/?x=1&y=2", [ent(.url, 0, 20)], "https://a.b/?x=1&amp;y=2"),
        RenderCase("email is plain", "a@b.cd", [ent(.email, 0, 6)], "a@b.cd"),
        RenderCase("phone is plain", "+1 555", [ent(.phoneNumber, 0, 6)], "+1 555"),
        RenderCase("mention is plain", "hi @ann", [ent(.mention, 3, 4)], "hi @ann"),
        RenderCase("hashtag is plain", "#tag", [ent(.hashtag, 0, 4)], "#tag"),
        RenderCase("cashtag is plain", "$USD", [ent(.cashtag, 0, 4)], "$USD"),
        RenderCase("bot command is plain", "/start", [ent(.botCommand, 0, 6)], "/start"),
        RenderCase("link without url is plain", "x", [ent(.textLink, 0, 1)], "x"),
        RenderCase("mention without user is plain", "x", [ent(.textMention, 0, 1)], "x"),
        RenderCase("custom emoji without id is plain", "x", [ent(.customEmoji, 0, 1)], "x"),
    ]

    @Test("every entity kind", arguments: kindsCases)
    func entityKinds(_ testCase: RenderCase) {
        #expect(TelegramHTML.render(testCase.text, entities: testCase.entities) == testCase.expected)
    }

    @Test func kindTableCoversEveryKind() {
        #expect(Set(Self.kindsCases.flatMap { $0.entities.map(\.kind) }) == Set(MessageEntity.Kind.allCases))
    }

    static let escapingCases: [RenderCase] = [
        RenderCase("special characters", "a < b && c > d", [], "a &lt; b &amp;&amp; c &gt; d"),
        RenderCase("quotes stay in text", "say \"hi\" 'x'", [], "say \"hi\" 'x'"),
        RenderCase("entity-like text", "&amp; <b>", [], "&amp;amp; &lt;b&gt;"),
        RenderCase("escaped inside tags", "<&>", [ent(.bold, 0, 3)], "<b>&lt;&amp;&gt;</b>"),
        RenderCase(
            "language attribute escaped", "x", [ent(.pre, 0, 1, language: "a\"<b")],
            "<pre><code class=\"language-a&quot;&lt;b\">x</code></pre>"),
        RenderCase("empty", "", [], ""),
    ]

    @Test("escaping", arguments: escapingCases)
    func escaping(_ testCase: RenderCase) {
        #expect(TelegramHTML.render(testCase.text, entities: testCase.entities) == testCase.expected)
    }

    static let nestingCases: [RenderCase] = [
        RenderCase(
            "bold inside italic", "one two three", [ent(.italic, 0, 13), ent(.bold, 4, 3)],
            "<i>one <b>two</b> three</i>"),
        RenderCase(
            "link inside bold", "go here now", [ent(.bold, 0, 11), ent(.textLink, 3, 4, url: "https://x")],
            "<b>go <a href=\"https://x\">here</a> now</b>"),
        RenderCase(
            "same range nests in a fixed order", "x", [ent(.italic, 0, 1), ent(.bold, 0, 1)],
            "<b><i>x</i></b>"),
        RenderCase(
            "shared start: longer is outer", "abcdef", [ent(.italic, 0, 2), ent(.bold, 0, 6)],
            "<b><i>ab</i>cdef</b>"),
        RenderCase(
            "shared end: longer is outer", "abcdef", [ent(.italic, 4, 2), ent(.bold, 0, 6)],
            "<b>abcd<i>ef</i></b>"),
        RenderCase(
            "adjacent entities", "abcd", [ent(.bold, 0, 2), ent(.italic, 2, 2)], "<b>ab</b><i>cd</i>"),
        RenderCase(
            "three levels", "abc", [ent(.underline, 0, 3), ent(.italic, 0, 3), ent(.bold, 1, 1)],
            "<i><u>a<b>b</b>c</u></i>"),
        RenderCase(
            "partial overlap closes and reopens", "abcdefgh", [ent(.bold, 0, 5), ent(.italic, 3, 5)],
            "<b>abc<i>de</i></b><i>fgh</i>"),
        RenderCase(
            "code inside bold", "a code", [ent(.bold, 0, 6), ent(.code, 2, 4)], "<b>a <code>code</code></b>"),
        RenderCase(
            "nothing nests inside code", "a code", [ent(.code, 0, 6), ent(.bold, 2, 4)], "<code>a code</code>"),
        RenderCase(
            "bold overlapping code end stays outside it", "abcdef", [ent(.code, 0, 4), ent(.bold, 2, 4)],
            "<code>abcd</code><b>ef</b>"),
        RenderCase(
            "quote inside quote is dropped", "abc", [ent(.blockquote, 0, 3), ent(.expandableBlockquote, 1, 1)],
            "<blockquote>abc</blockquote>"),
        RenderCase(
            "link inside link is dropped", "abc",
            [ent(.textLink, 0, 3, url: "https://a"), ent(.textLink, 1, 1, url: "https://b")],
            "<a href=\"https://a\">abc</a>"),
        RenderCase(
            "pre inside blockquote", "q\ncode", [ent(.blockquote, 0, 6), ent(.pre, 2, 4)],
            "<blockquote>q\n<pre>code</pre></blockquote>"),
        RenderCase(
            "duplicate entities render once", "ab", [ent(.bold, 0, 2), ent(.bold, 0, 2)], "<b>ab</b>"),
        RenderCase(
            "auto-detected kinds do not disturb nesting", "@ann hi", [ent(.bold, 0, 7), ent(.mention, 0, 4)],
            "<b>@ann hi</b>"),
    ]

    @Test("nesting", arguments: nestingCases)
    func nesting(_ testCase: RenderCase) {
        #expect(TelegramHTML.render(testCase.text, entities: testCase.entities) == testCase.expected)
    }

    static let utf16Cases: [RenderCase] = [
        RenderCase("after astral text", astralText, [ent(.bold, 27, 4)], "👨‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 <b>bold</b>"),
        RenderCase("over astral text", astralText, [ent(.italic, 9, 14)], "👨‍👩‍👧 <i>𝔘𝔫𝔦𝔠𝔬𝔡𝔢</i> 😀 bold"),
        RenderCase(
            "over a ZWJ sequence", astralText, [ent(.spoiler, 0, 8)],
            "<span class=\"tg-spoiler\">👨‍👩‍👧</span> 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 bold"),
        RenderCase("entity inside a surrogate pair is widened", "😀a", [ent(.bold, 1, 2)], "<b>😀a</b>"),
        RenderCase("out of range is clamped", "hello world", [ent(.bold, 5, 100)], "hello<b> world</b>"),
        RenderCase(
            "empty and negative entities are dropped", "hi", [ent(.bold, 0, 0), ent(.italic, -5, 3)], "hi"),
        RenderCase("negative offset clipped to text", "hello", [ent(.bold, -2, 4)], "<b>he</b>llo"),
    ]

    @Test("UTF-16 offsets", arguments: utf16Cases)
    func utf16Offsets(_ testCase: RenderCase) {
        #expect(TelegramHTML.render(testCase.text, entities: testCase.entities) == testCase.expected)
    }

    @Test func randomEntitiesAlwaysNestProperly() {
        var rng = SeededGenerator(seed: 7)
        let kinds: [MessageEntity.Kind] = [.bold, .italic, .underline, .code, .pre, .blockquote, .spoiler]
        for _ in 0..<300 {
            let text = String(repeating: "ab😀", count: Int.random(in: 1...8, using: &rng))
            let count = text.utf16.count
            let entities = (0..<Int.random(in: 0...6, using: &rng)).map { _ in
                let offset = Int.random(in: 0..<count, using: &rng)
                return ent(
                    kinds.randomElement(using: &rng) ?? .bold, offset, Int.random(in: 1...count - offset, using: &rng))
            }
            let html = TelegramHTML.render(text, entities: entities)
            #expect(tagsNest(html), "\(html)")
            #expect(stripTags(html) == text)
        }
    }

    /// Checks open/close tags pair up like parentheses.
    private func tagsNest(_ html: String) -> Bool {
        var stack: [String] = []
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            guard let close = rest[open...].firstIndex(of: ">") else { return false }
            let tag = rest[rest.index(after: open)..<close]
            if tag.hasPrefix("/") {
                guard stack.popLast() == String(tag.dropFirst()) else { return false }
            } else {
                stack.append(String(tag.prefix { $0 != " " }))
            }
            rest = rest[rest.index(after: close)...]
        }
        return stack.isEmpty
    }

    private func stripTags(_ html: String) -> String {
        var out = ""
        var inTag = false
        for character in html {
            if character == "<" {
                inTag = true
            } else if character == ">" {
                inTag = false
            } else if !inTag {
                out.append(character)
            }
        }
        return out
    }
}
