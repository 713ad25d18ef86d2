import Testing

@testable import Forwarding

struct ParseCase: Sendable, CustomTestStringConvertible {
    let name: String
    let markdown: String
    let text: String
    let entities: [MessageEntity]
    var testDescription: String { name }

    init(_ name: String, _ markdown: String, _ text: String, _ entities: [MessageEntity]) {
        self.name = name
        self.markdown = markdown
        self.text = text
        self.entities = entities
    }
}

@Suite("Discord markdown parser")
struct DiscordParserTests {
    static let syntaxCases: [ParseCase] = [
        ParseCase("plain", "just text", "just text", []),
        ParseCase("bold", "**bold** text", "bold text", [ent(.bold, 0, 4)]),
        ParseCase("italic star", "an *it* word", "an it word", [ent(.italic, 3, 2)]),
        ParseCase("italic underscore", "an _it_ word", "an it word", [ent(.italic, 3, 2)]),
        ParseCase("underline", "__u__", "u", [ent(.underline, 0, 1)]),
        ParseCase("strikethrough", "~~gone~~", "gone", [ent(.strikethrough, 0, 4)]),
        ParseCase("spoiler", "a ||hidden|| b", "a hidden b", [ent(.spoiler, 2, 6)]),
        ParseCase("inline code is raw", "`a*b*`", "a*b*", [ent(.code, 0, 4)]),
        ParseCase("double backtick code", "``a`b``", "a`b", [ent(.code, 0, 3)]),
        ParseCase("padded backtick code", "`` `a` ``", "`a`", [ent(.code, 0, 3)]),
        ParseCase(
            "fenced block with language", "```swift\nlet x = 1\n```", "let x = 1", [ent(.pre, 0, 9, language: "swift")]),
        ParseCase("fenced block without language", "```\nplain *x*\n```", "plain *x*", [ent(.pre, 0, 9)]),
        ParseCase("fenced block on one line", "```code```", "code", [ent(.pre, 0, 4)]),
        ParseCase("fenced block with only a word line", "```py\n```", "py", [ent(.pre, 0, 2)]),
        ParseCase("quote", "> quoted\nnot", "quoted\nnot", [ent(.blockquote, 0, 6)]),
        ParseCase("multi-line quote", "> a\n> b\nc", "a\nb\nc", [ent(.blockquote, 0, 3)]),
        ParseCase("quote to the end", ">>> a\nb", "a\nb", [ent(.blockquote, 0, 3)]),
        ParseCase("quote marker needs a space", ">no", ">no", []),
        ParseCase("quote only at line start", "a > b", "a > b", []),
        ParseCase("formatting inside a quote", "> **a**", "a", [ent(.blockquote, 0, 1), ent(.bold, 0, 1)]),
        ParseCase(
            "masked link", "see [docs](https://x.com/a)", "see docs", [ent(.textLink, 4, 4, url: "https://x.com/a")]),
        ParseCase(
            "masked link with escapes", "[a\\]b](https://x.com/\\))", "a]b",
            [ent(.textLink, 0, 3, url: "https://x.com/)")]),
        ParseCase(
            "masked link with parentheses", "[w](https://w.org/A_(b))", "w",
            [ent(.textLink, 0, 1, url: "https://w.org/A_(b)")]),
        ParseCase("non-web link stays literal", "[a](ftp://x)", "[a](ftp://x)", []),
        ParseCase("escapes", "\\*not\\* \\_em\\_ \\\\ \\a", "*not* _em_ \\ \\a", []),
        ParseCase("mentions stay", "<@123> <@!456> <@&789> <#42>", "<@123> <@!456> <@&789> <#42>", []),
        ParseCase("custom emoji", "hi <:smile_x:123> <a:wave:456>", "hi :smile_x: :wave:", []),
        ParseCase("timestamp stays", "at <t:1700000000:R>", "at <t:1700000000:R>", []),
        ParseCase("suppressed embed link", "<https://x.com/a_b>", "https://x.com/a_b", []),
        ParseCase(
            "bare URL is not markdown", "https://x.com/a_b_c_ *d*", "https://x.com/a_b_c_ d", [ent(.italic, 21, 1)]),
        ParseCase("snake_case stays", "snake_case_name", "snake_case_name", []),
        ParseCase("unclosed markers stay", "**bold *it", "**bold *it", []),
        ParseCase("italic needs no space inside", "*a *b*", "*a b", [ent(.italic, 3, 1)]),
        ParseCase("escaped mass ping", "@\u{200B}everyone", "@everyone", []),
        ParseCase("plain mass ping", "@here", "@here", []),
        ParseCase("astral offsets", "😀 𝔘 **b**", "😀 𝔘 b", [ent(.bold, 6, 1)]),
    ]

    @Test("syntax", arguments: syntaxCases)
    func syntax(_ testCase: ParseCase) {
        let parsed = DiscordMarkdown.parse(testCase.markdown)
        #expect(parsed.text == testCase.text)
        #expect(parsed.entities == testCase.entities)
    }

    static let nestingCases: [ParseCase] = [
        ParseCase("bold italic", "***both***", "both", [ent(.bold, 0, 4), ent(.italic, 0, 4)]),
        ParseCase("italic in bold", "**bold _it_**", "bold it", [ent(.bold, 0, 7), ent(.italic, 5, 2)]),
        ParseCase("bold in italic", "*a **b** c*", "a b c", [ent(.italic, 0, 5), ent(.bold, 2, 1)]),
        ParseCase("underline italic", "___x___", "x", [ent(.underline, 0, 1), ent(.italic, 0, 1)]),
        ParseCase(
            "link in spoiler", "||[x](https://a.b)||", "x",
            [ent(.spoiler, 0, 1), ent(.textLink, 0, 1, url: "https://a.b")]),
        ParseCase(
            "close and reopen", "**abc_de_**_fgh_", "abcdefgh",
            [ent(.bold, 0, 5), ent(.italic, 3, 2), ent(.italic, 5, 3)]),
    ]

    @Test("nesting", arguments: nestingCases)
    func nesting(_ testCase: ParseCase) {
        let parsed = DiscordMarkdown.parse(testCase.markdown)
        #expect(parsed.text == testCase.text)
        #expect(parsed.entities == testCase.entities)
    }

    @Test func mentionsAreFoundWithUTF16Ranges() {
        let text = "😀 <@123> <@!456> <@&789> <#42> <@abc> <:e:1> <t:5>"
        #expect(
            DiscordMarkdown.mentions(in: text) == [
                DiscordToken(kind: .user, id: 123, range: 3..<9),
                DiscordToken(kind: .user, id: 456, range: 10..<17),
                DiscordToken(kind: .role, id: 789, range: 18..<25),
                DiscordToken(kind: .channel, id: 42, range: 26..<31),
            ])
    }

    @Test(arguments: ["<@>", "<@12", "<@99999999999999999999>", "<#x>", "@123", "<@ 1>"])
    func malformedMentionsAreIgnored(text: String) {
        #expect(DiscordMarkdown.mentions(in: text).isEmpty)
    }

    /// Texts full of characters Discord treats as markdown.
    static let roundTripTexts: [String] = [
        "", "plain", "a*b*c", "**not bold**", "_x_ __y__ ~~z~~ ||s||", "`code` ``c``", "```\nblock\n```",
        "> not a quote\n>>> nor this", "# heading\n- list\n1. one\n  > deep", "[a](https://x.com)",
        "\\ \\\\ \\* \\a", "@everyone @here @\u{200B}here @hereford", "<@1> <#2> <:e:3> <t:4:R> <https://x>",
        "https://x.com/a_b_c*d* then *e*", "http:// alone", "https://x.com/\\*y", "https://x.y)]*", astralText,
        "tabs\tand\r\nwindows", "trailing\\", "*", "**", "***", "_", "|", "||", "~", "`", "```", "<", ">", "-", "#",
    ]

    @Test("plain text survives render then parse", arguments: roundTripTexts)
    func plainRoundTrip(text: String) {
        let parsed = DiscordMarkdown.parse(DiscordMarkdown.render(text, entities: []))
        #expect(parsed.text == text)
        #expect(parsed.entities.isEmpty)
    }

    @Test func randomPlainTextRoundTrips() {
        var rng = SeededGenerator(seed: 42)
        let alphabet: [String] =
            "ab 1.\n\\*_~`|[]()<>#-@:/h!&\u{200B}😀".map(String.init) + ["everyone", "here", "https://", "<@12>", "  "]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...24, using: &rng)).map { _ in
                alphabet.randomElement(using: &rng) ?? "a"
            }.joined()
            let parsed = DiscordMarkdown.parse(DiscordMarkdown.render(text, entities: []))
            #expect(parsed.text == text, "\(text.debugDescription)")
            #expect(parsed.entities.isEmpty, "\(text.debugDescription)")
        }
    }

    /// Whatever the parser produces, rendering it and parsing again gives the same message, up to
    /// the renderer's documented normalizations: whitespace moved out of inline markers, newlines
    /// out of quotes, touching spans of one kind merged. Backtick pairs (which the renderer must
    /// break with a zero-width space) and bare URLs directly followed by markup (which Discord
    /// itself would swallow into the link) are out of scope.
    @Test func parseRenderParseIsStable() {
        var rng = SeededGenerator(seed: 5)
        let alphabet: [String] =
            "ab \n\\*_~`|[]()<>#-@:h!".map(String.init)
            + ["**", "__", "~~", "||", "```", "> ", "https://x.y/", "[t](https://u.v)", "<@1>", "<:e:2>", "😀"]
        var checked = 0
        for _ in 0..<4000 {
            let markdown = (0..<Int.random(in: 0...14, using: &rng)).map { _ in
                alphabet.randomElement(using: &rng) ?? "a"
            }.joined()
            let first = DiscordMarkdown.parse(markdown)
            let units = Array(first.text.utf16)
            for entity in first.entities {
                #expect(
                    entity.offset >= 0 && entity.length > 0 && entity.end <= units.count, "\(markdown.debugDescription)"
                )
            }
            if first.text.contains("``") || first.text.contains("https://") { continue }
            let second = DiscordMarkdown.parse(DiscordMarkdown.render(first.text, entities: first.entities))
            let expected = EntityNormalization.mergingAdjacent(
                first.entities.compactMap { entity -> MessageEntity? in
                    switch entity.kind {
                    case .code, .pre: entity
                    case .blockquote: EntityNormalization.trimmingNewlines(entity, in: units)
                    default: EntityNormalization.trimmingWhitespace(entity, in: units)
                    }
                }, kinds: [.bold, .italic, .underline, .strikethrough, .spoiler, .code, .blockquote])
            #expect(second.text == first.text, "\(markdown.debugDescription)")
            #expect(Set(second.entities) == Set(expected), "\(markdown.debugDescription)")
            checked += 1
        }
        #expect(checked > 2000)
    }

    static let entityRoundTrips: [RenderCase] = [
        RenderCase("bold", "a b c", [ent(.bold, 2, 1)], ""),
        RenderCase("italic", "a*b", [ent(.italic, 0, 3)], ""),
        RenderCase("underline", "x_y", [ent(.underline, 0, 3)], ""),
        RenderCase("strikethrough", "x~y", [ent(.strikethrough, 0, 3)], ""),
        RenderCase("spoiler", "x|y", [ent(.spoiler, 0, 3)], ""),
        RenderCase("code", "a`b", [ent(.code, 0, 3)], ""),
        RenderCase("pre", "if a {\n  b()\n}", [ent(.pre, 0, 14, language: "swift")], ""),
        RenderCase("text link", "go", [ent(.textLink, 0, 2, url: "https://x.com/a_b?q=1")], ""),
        RenderCase("quote", "intro\nq1\nq2\nend", [ent(.blockquote, 6, 5)], ""),
        RenderCase("nested", "one two", [ent(.italic, 0, 7), ent(.bold, 0, 3)], ""),
        RenderCase("astral", astralText, [ent(.italic, 9, 14), ent(.bold, 27, 4)], ""),
    ]

    @Test("entities survive render then parse", arguments: entityRoundTrips)
    func entityRoundTrip(_ testCase: RenderCase) {
        let parsed = DiscordMarkdown.parse(DiscordMarkdown.render(testCase.text, entities: testCase.entities))
        #expect(parsed.text == testCase.text)
        #expect(Set(parsed.entities) == Set(testCase.entities))
    }
}
