import Testing

@testable import Forwarding

@Suite("MessageTransform")
struct MessageTransformTests {
    struct FilterCase: Sendable, CustomTestStringConvertible {
        let name: String
        let include: [String]
        let exclude: [String]
        let text: String
        let forwarded: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        FilterCase(name: "no keywords", include: [], exclude: [], text: "anything", forwarded: true),
        FilterCase(
            name: "include matches case-insensitively", include: ["SALE"], exclude: [], text: "big sale today",
            forwarded: true),
        FilterCase(
            name: "include matches inside words", include: ["sale"], exclude: [], text: "wholesale", forwarded: true),
        FilterCase(
            name: "include without match", include: ["sale", "deal"], exclude: [], text: "hello", forwarded: false),
        FilterCase(
            name: "any include suffices", include: ["x", "deal"], exclude: [], text: "a Deal!", forwarded: true),
        FilterCase(name: "exclude wins", include: ["sale"], exclude: ["spam"], text: "sale SPAM", forwarded: false),
        FilterCase(name: "exclude without match", include: [], exclude: ["spam"], text: "ham", forwarded: true),
        FilterCase(name: "non-ASCII case folding", include: ["ÜBER"], exclude: [], text: "über alles", forwarded: true),
        FilterCase(name: "media-only message fails include", include: ["x"], exclude: [], text: "", forwarded: false),
    ])
    func keywords(_ testCase: FilterCase) {
        let options = PairOptions(includeKeywords: testCase.include, excludeKeywords: testCase.exclude)
        let message = Message(text: testCase.text, media: [Media(kind: .photo, fileID: "p")])
        #expect((MessageTransform.apply(options, to: message) != nil) == testCase.forwarded)
    }

    @Test func keywordsAreCheckedOnTheOriginalText() {
        let options = PairOptions(
            includeKeywords: ["secret"], regexReplacements: [RegexReplacement(pattern: "secret", replacement: "***")])
        let result = MessageTransform.apply(options, to: Message(text: "the secret word"))
        #expect(result?.text == "the *** word")
    }

    struct TransformCase: Sendable, CustomTestStringConvertible {
        let name: String
        let options: PairOptions
        let message: Message
        let expected: Message?
        var testDescription: String { name }
    }

    static let regexCases: [TransformCase] = [
        TransformCase(
            name: "replacement shifts later entities",
            options: PairOptions(regexReplacements: [RegexReplacement(pattern: "colou?r", replacement: "hue")]),
            message: Message(text: "colour me bold", entities: [ent(.bold, 10, 4)]),
            expected: Message(text: "hue me bold", entities: [ent(.bold, 7, 4)])),
        TransformCase(
            name: "capture groups and case-insensitivity",
            options: PairOptions(regexReplacements: [
                RegexReplacement(pattern: "(\\w+)@example\\.com", replacement: "$1 at example", caseInsensitive: true)
            ]),
            message: Message(text: "Mail ANN@EXAMPLE.COM now", entities: [ent(.italic, 21, 3)]),
            expected: Message(text: "Mail ANN at example now", entities: [ent(.italic, 20, 3)])),
        TransformCase(
            name: "case-sensitive by default",
            options: PairOptions(regexReplacements: [RegexReplacement(pattern: "a", replacement: "b")]),
            message: Message(text: "Aa"), expected: Message(text: "Ab")),
        TransformCase(
            name: "rules run in order",
            options: PairOptions(regexReplacements: [
                RegexReplacement(pattern: "a", replacement: "b"), RegexReplacement(pattern: "b", replacement: "c"),
            ]),
            message: Message(text: "ab"), expected: Message(text: "cc")),
        TransformCase(
            name: "replaced entity text keeps its formatting",
            options: PairOptions(regexReplacements: [RegexReplacement(pattern: "cat", replacement: "tiger")]),
            message: Message(text: "a cat!", entities: [ent(.bold, 2, 3), ent(.italic, 0, 6)]),
            expected: Message(text: "a tiger!", entities: [ent(.bold, 2, 5), ent(.italic, 0, 8)])),
        TransformCase(
            name: "removing all text drops a text-only message",
            options: PairOptions(regexReplacements: [RegexReplacement(pattern: ".+", replacement: "")]),
            message: Message(text: "bye"), expected: nil),
        TransformCase(
            name: "astral text before the match",
            options: PairOptions(regexReplacements: [RegexReplacement(pattern: "bold", replacement: "B")]),
            message: Message(text: astralText, entities: [ent(.bold, 27, 4), ent(.italic, 9, 14)]),
            expected: Message(text: "👨‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 B", entities: [ent(.bold, 27, 1), ent(.italic, 9, 14)])),
    ]

    @Test("regex replacements", arguments: regexCases)
    func regex(_ testCase: TransformCase) {
        #expect(MessageTransform.apply(testCase.options, to: testCase.message) == testCase.expected)
    }

    static let stripCases: [TransformCase] = [
        TransformCase(
            name: "url entity removed with its space",
            options: PairOptions(stripLinks: true),
            message: Message(text: "see https://x.com now ok", entities: [ent(.url, 4, 13), ent(.bold, 22, 2)]),
            expected: Message(text: "see now ok", entities: [ent(.bold, 8, 2)])),
        TransformCase(
            name: "text link keeps its text",
            options: PairOptions(stripLinks: true),
            message: Message(text: "read docs", entities: [ent(.textLink, 5, 4, url: "https://x"), ent(.bold, 0, 4)]),
            expected: Message(text: "read docs", entities: [ent(.bold, 0, 4)])),
        TransformCase(
            name: "bare URL without entity (from Discord)",
            options: PairOptions(stripLinks: true),
            message: Message(text: "go to www.x.org/a, then **", entities: [ent(.italic, 19, 4)]),
            expected: Message(text: "go to, then **", entities: [ent(.italic, 7, 4)])),
        TransformCase(
            name: "URL at line start takes the following space",
            options: PairOptions(stripLinks: true),
            message: Message(text: "http://a.b c"), expected: Message(text: "c")),
        TransformCase(
            name: "bold around a URL shrinks",
            options: PairOptions(stripLinks: true),
            message: Message(text: "a https://x.y b", entities: [ent(.bold, 0, 15)]),
            expected: Message(text: "a b", entities: [ent(.bold, 0, 3)])),
        TransformCase(
            name: "telegram mention and text mention removed",
            options: PairOptions(stripMentions: true),
            message: Message(
                text: "hi @ann and Bob!",
                entities: [ent(.mention, 3, 4), ent(.textMention, 12, 3, userID: 9), ent(.italic, 0, 2)]),
            expected: Message(text: "hi and!", entities: [ent(.italic, 0, 2)])),
        TransformCase(
            name: "discord mention tokens and mass pings removed, channels kept",
            options: PairOptions(stripMentions: true),
            message: Message(text: "<@123> see <#9> @everyone <@&5> now @hereford", entities: [ent(.bold, 32, 3)]),
            expected: Message(text: "see <#9> now @hereford", entities: [ent(.bold, 9, 3)])),
        TransformCase(
            name: "strip options off leave links and mentions",
            options: PairOptions(),
            message: Message(text: "@ann https://x.y <@1>", entities: [ent(.mention, 0, 4), ent(.url, 5, 11)]),
            expected: Message(text: "@ann https://x.y <@1>", entities: [ent(.mention, 0, 4), ent(.url, 5, 11)])),
        TransformCase(
            name: "a message that was only a link is dropped",
            options: PairOptions(stripLinks: true),
            message: Message(text: "https://x.y", entities: [ent(.url, 0, 11)]), expected: nil),
    ]

    @Test("strip links and mentions", arguments: stripCases)
    func strip(_ testCase: TransformCase) {
        #expect(MessageTransform.apply(testCase.options, to: testCase.message) == testCase.expected)
    }

    static let photo = Media(kind: .photo, fileID: "p")
    static let ann = Author(displayName: "Ann Lee", username: "ann")

    static let decorationCases: [TransformCase] = [
        TransformCase(
            name: "media off", options: PairOptions(includeMedia: false),
            message: Message(text: "cap", media: [photo]), expected: Message(text: "cap")),
        TransformCase(
            name: "media off drops a media-only message", options: PairOptions(includeMedia: false),
            message: Message(media: [photo]), expected: nil),
        TransformCase(
            name: "media kept by default", options: PairOptions(),
            message: Message(media: [photo]), expected: Message(media: [photo])),
        TransformCase(
            name: "sender line is bold and shifts entities", options: PairOptions(showSender: true),
            message: Message(text: "hi there", entities: [ent(.italic, 3, 5)], author: ann),
            expected: Message(
                text: "Ann Lee:\nhi there", entities: [ent(.bold, 0, 8), ent(.italic, 12, 5)], author: ann)),
        TransformCase(
            name: "sender on a caption-less photo", options: PairOptions(showSender: true),
            message: Message(media: [photo], author: ann),
            expected: Message(text: "Ann Lee:", entities: [ent(.bold, 0, 8)], media: [photo], author: ann)),
        TransformCase(
            name: "sender falls back to username", options: PairOptions(showSender: true),
            message: Message(text: "x", author: Author(displayName: " ", username: "bob")),
            expected: Message(
                text: "@bob:\nx", entities: [ent(.bold, 0, 5)], author: Author(displayName: " ", username: "bob"))),
        TransformCase(
            name: "no author, no sender line", options: PairOptions(showSender: true),
            message: Message(text: "x"), expected: Message(text: "x")),
        TransformCase(
            name: "header and footer are plain", options: PairOptions(header: "From <news>", footer: "— via AFX"),
            message: Message(text: "body", entities: [ent(.bold, 0, 4)]),
            expected: Message(text: "From <news>\nbody\n— via AFX", entities: [ent(.bold, 12, 4)])),
        TransformCase(
            name: "empty header and footer are ignored", options: PairOptions(header: "", footer: ""),
            message: Message(text: "body"), expected: Message(text: "body")),
        TransformCase(
            name: "header, sender, text, footer in that order with astral text",
            options: PairOptions(header: "📢 News", footer: "end", showSender: true),
            message: Message(text: astralText, entities: [ent(.bold, 27, 4)], author: ann),
            expected: Message(
                text: "📢 News\nAnn Lee:\n" + astralText + "\nend", entities: [ent(.bold, 8, 8), ent(.bold, 44, 4)],
                author: ann)),
        TransformCase(
            name: "replies are cleared when not forwarded as replies",
            options: PairOptions(forwardRepliesAsReplies: false),
            message: Message(text: "re", replyToMessageID: 5), expected: Message(text: "re")),
        TransformCase(
            name: "replies are kept by default", options: PairOptions(),
            message: Message(text: "re", replyToMessageID: 5), expected: Message(text: "re", replyToMessageID: 5)),
        TransformCase(
            name: "whitespace-only message is dropped before the header", options: PairOptions(header: "H"),
            message: Message(text: " \n "), expected: nil),
    ]

    @Test("media, sender, header and footer", arguments: decorationCases)
    func decorations(_ testCase: TransformCase) {
        #expect(MessageTransform.apply(testCase.options, to: testCase.message) == testCase.expected)
    }

    @Test func everyStepTogether() {
        let options = PairOptions(
            includeKeywords: ["launch"], excludeKeywords: ["draft"],
            regexReplacements: [RegexReplacement(pattern: "v(\\d)", replacement: "version $1")], stripLinks: true,
            stripMentions: true, header: "H", footer: "F", showSender: true, includeMedia: false)
        let message = Message(
            text: "Launch v2 @team https://x.y today",
            entities: [ent(.mention, 10, 5), ent(.url, 16, 11), ent(.italic, 28, 5), ent(.bold, 0, 6)],
            media: [Self.photo], author: Author(displayName: "Eve"))
        let result = MessageTransform.apply(options, to: message)
        #expect(result?.text == "H\nEve:\nLaunch version 2 today\nF")
        #expect(result?.entities == [ent(.bold, 2, 4), ent(.italic, 24, 5), ent(.bold, 7, 6)])
        #expect(result?.media == [])
        let rendered = result.map { TelegramHTML.render($0.text, entities: $0.entities) }
        #expect(rendered == "H\n<b>Eve:</b>\n<b>Launch</b> version 2 <i>today</i>\nF")
    }
}
