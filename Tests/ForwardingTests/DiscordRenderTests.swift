import Testing

@testable import Forwarding

@Suite("Discord markdown renderer")
struct DiscordRenderTests {
    static let kindCases: [RenderCase] = [
        RenderCase("bold", "hello world", [ent(.bold, 0, 5)], "**hello** world"),
        RenderCase("italic", "hello world", [ent(.italic, 6, 5)], "hello *world*"),
        RenderCase("italic inside a word", "abcdef", [ent(.italic, 2, 2)], "ab*cd*ef"),
        RenderCase("underline", "hello", [ent(.underline, 0, 5)], "__hello__"),
        RenderCase("strikethrough", "hello", [ent(.strikethrough, 1, 3)], "h~~ell~~o"),
        RenderCase("spoiler", "secret", [ent(.spoiler, 0, 6)], "||secret||"),
        RenderCase("code is not escaped", "run a*b_c", [ent(.code, 4, 5)], "run `a*b_c`"),
        RenderCase("code with a backtick", "a`b", [ent(.code, 0, 3)], "``a`b``"),
        RenderCase("code with a double backtick", "a``b", [ent(.code, 0, 4)], "``a`\u{200B}`b``"),
        RenderCase("code starting with a backtick", "`a", [ent(.code, 0, 2)], "`` `a``"),
        RenderCase("code ending with a backtick", "a`", [ent(.code, 0, 2)], "``a` ``"),
        RenderCase("pre", "x = *1*", [ent(.pre, 0, 7)], "```\nx = *1*\n```"),
        RenderCase("pre with language", "let a = 1", [ent(.pre, 0, 9, language: "Swift")], "```swift\nlet a = 1\n```"),
        RenderCase("pre with odd language drops it", "x", [ent(.pre, 0, 1, language: "a b")], "```\nx\n```"),
        RenderCase("pre breaks inner fences", "a```b", [ent(.pre, 0, 5)], "```\na``\u{200B}`b\n```"),
        RenderCase(
            "pre breaks fences split by a dropped inner entity", "a```b", [ent(.pre, 0, 5), ent(.bold, 2, 1)],
            "```\na``\u{200B}`b\n```"),
        RenderCase(
            "text link", "see docs", [ent(.textLink, 4, 4, url: "https://x.com/a")], "see [docs](https://x.com/a)"),
        RenderCase(
            "text link escapes bracket and paren", "a]b", [ent(.textLink, 0, 3, url: "https://x.com/(y)")],
            "[a\\]b](https://x.com/%28y%29)"),
        RenderCase("non-web link keeps text only", "me", [ent(.textLink, 0, 2, url: "tg://user?id=1")], "me"),
        RenderCase("blockquote", "a\nb", [ent(.blockquote, 0, 3)], "> a\n> b"),
        RenderCase("expandable blockquote", "a\nb", [ent(.expandableBlockquote, 0, 3)], "> a\n> b"),
        RenderCase("text mention is plain", "Ann", [ent(.textMention, 0, 3, userID: 1)], "Ann"),
        RenderCase("custom emoji is its fallback", "👍 ok", [ent(.customEmoji, 0, 2, emoji: "1")], "👍 ok"),
        RenderCase("url is plain", "https://x.com/a_b", [ent(.url, 0, 17)], "https://x.com/a_b"),
        RenderCase("email is plain", "a_b@c.de", [ent(.email, 0, 8)], "a\\_b@c.de"),
        RenderCase("phone is plain", "+1 555", [ent(.phoneNumber, 0, 6)], "+1 555"),
        RenderCase("mention is plain", "hi @ann", [ent(.mention, 3, 4)], "hi @ann"),
        RenderCase("hashtag is plain but escaped at line start", "#tag", [ent(.hashtag, 0, 4)], "\\#tag"),
        RenderCase("cashtag is plain", "$USD", [ent(.cashtag, 0, 4)], "$USD"),
        RenderCase("bot command is plain", "/start", [ent(.botCommand, 0, 6)], "/start"),
    ]

    @Test("every entity kind", arguments: kindCases)
    func entityKinds(_ testCase: RenderCase) {
        #expect(DiscordMarkdown.render(testCase.text, entities: testCase.entities) == testCase.expected)
    }

    @Test func kindTableCoversEveryKind() {
        #expect(Set(Self.kindCases.flatMap { $0.entities.map(\.kind) }) == Set(MessageEntity.Kind.allCases))
    }

    static let placementCases: [RenderCase] = [
        RenderCase("whitespace moves outside markers", "a bold b", [ent(.bold, 1, 6)], "a **bold** b"),
        RenderCase("whitespace-only entity disappears", "a   b", [ent(.italic, 1, 3)], "a   b"),
        RenderCase("code keeps its spaces", "a b", [ent(.code, 1, 1)], "a` `b"),
        RenderCase("bold and italic on one range", "x", [ent(.italic, 0, 1), ent(.bold, 0, 1)], "**_x_**"),
        RenderCase("bold then italic touching", "abcd", [ent(.bold, 0, 2), ent(.italic, 2, 2)], "**ab**_cd_"),
        RenderCase("italic then bold touching", "abcd", [ent(.italic, 0, 2), ent(.bold, 2, 2)], "_ab_**cd**"),
        RenderCase("bold inside italic", "one two", [ent(.italic, 0, 7), ent(.bold, 0, 3)], "_**one** two_"),
        RenderCase("underline with italic", "ab", [ent(.underline, 0, 2), ent(.italic, 0, 2)], "*__ab__*"),
        RenderCase("adjacent bold spans merge", "abcd", [ent(.bold, 0, 2), ent(.bold, 2, 2)], "**abcd**"),
        RenderCase(
            "link inside bold", "go here", [ent(.bold, 0, 7), ent(.textLink, 3, 4, url: "https://x")],
            "**go [here](https://x)**"),
        RenderCase(
            "partial overlap closes and reopens", "abcdefgh", [ent(.bold, 0, 5), ent(.italic, 3, 5)],
            "**abc_de_**_fgh_"),
        RenderCase("nothing inside code", "a*b", [ent(.code, 0, 3), ent(.bold, 1, 1)], "`a*b`"),
        RenderCase("quote starts on its own line", "intro: quoted", [ent(.blockquote, 7, 6)], "intro: \n> quoted"),
        RenderCase(
            "text after a quote goes to the next line", "quotedafter", [ent(.blockquote, 0, 6)], "> quoted\nafter"),
        RenderCase("quote followed by newline", "q\nrest", [ent(.blockquote, 0, 1)], "> q\nrest"),
        RenderCase("quote trailing newline trimmed", "q\n\nrest", [ent(.blockquote, 0, 2)], "> q\n\nrest"),
        RenderCase(
            "bold across quote lines", "a\nb", [ent(.blockquote, 0, 3), ent(.bold, 0, 3)], "> **a\n> b**"),
        RenderCase(
            "bold running out of a quote is cut", "ab\ncd", [ent(.blockquote, 0, 2), ent(.bold, 0, 5)],
            "> **ab**\n**cd**"),
        RenderCase(
            "pre inside quote", "q\ncode", [ent(.blockquote, 0, 6), ent(.pre, 2, 4)], "> q\n> ```\n> code\n> ```"),
        RenderCase("escapes inside bold", "a*b", [ent(.bold, 0, 3)], "**a\\*b**"),
    ]

    @Test("marker placement", arguments: placementCases)
    func placement(_ testCase: RenderCase) {
        #expect(DiscordMarkdown.render(testCase.text, entities: testCase.entities) == testCase.expected)
    }

    static let escapeCases: [RenderCase] = [
        RenderCase("plain", "Hello, world!", [], "Hello, world!"),
        RenderCase("inline specials", "a*b_c~d`e|f[g]h<i\\j", [], "a\\*b\\_c\\~d\\`e\\|f\\[g\\]h\\<i\\\\j"),
        RenderCase(
            "line-start syntax", "> q\n# h\n- i\n1. one\n  > indented", [],
            "\\> q\n\\# h\n\\- i\n1\\. one\n  \\> indented"),
        RenderCase("line-start syntax mid-line is fine", "a > b # c - d 1. e", [], "a > b # c - d 1. e"),
        RenderCase("mass pings", "@everyone and @here", [], "@\u{200B}everyone and @\u{200B}here"),
        RenderCase("mention syntax", "<@123> <#1> <:e:2>", [], "\\<@123> \\<#1> \\<:e:2>"),
        RenderCase(
            "bare URLs stay verbatim", "see https://x.com/a_b_c*d and _x_", [],
            "see https://x.com/a_b_c*d and \\_x\\_"),
        RenderCase("parentheses are harmless", "(a) [b](c)", [], "(a) \\[b\\](c)"),
        RenderCase("astral text", astralText, [ent(.bold, 27, 4)], "👨‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 **bold**"),
        RenderCase("entity on astral text", astralText, [ent(.strikethrough, 9, 14)], "👨‍👩‍👧 ~~𝔘𝔫𝔦𝔠𝔬𝔡𝔢~~ 😀 bold"),
    ]

    @Test("escaping", arguments: escapeCases)
    func escaping(_ testCase: RenderCase) {
        #expect(DiscordMarkdown.render(testCase.text, entities: testCase.entities) == testCase.expected)
    }

    @Test func publicEscapeMatchesEntityFreeRender() {
        let text = "# a_b *c*\n> @everyone <@1> https://x.y/_"
        #expect(DiscordMarkdown.escape(text) == DiscordMarkdown.render(text, entities: []))
    }
}
