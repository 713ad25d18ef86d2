import Testing

@testable import Forwarding

@Suite("MessageSplitter")
struct MessageSplitterTests {
    @Test func constants() {
        #expect(PlatformLimits.telegramText == 4096)
        #expect(PlatformLimits.telegramCaption == 1024)
        #expect(PlatformLimits.discordContent == 2000)
    }

    @Test(arguments: [(20, 1), (21, 2), (40, 2), (41, 3)])
    func lengthAroundTheLimit(length: Int, chunks: Int) {
        let text = String(repeating: "a", count: length)
        let result = MessageSplitter.split(text, entities: [], limit: 20, render: plainRender)
        #expect(result.count == chunks)
        #expect(result.map(\.text).joined() == text)
        #expect(result.allSatisfy { $0.text.utf16.count <= 20 })
    }

    @Test func exactLimitIsOneChunkForEachPlatform() {
        for (platform, limit) in [(Platform.telegram, 4096), (.discord, 2000)] {
            let text = String(repeating: "a", count: limit)
            #expect(MessageSplitter.split(text, entities: [], for: platform).count == 1)
            #expect(MessageSplitter.split(text + "a", entities: [], for: platform).count == 2)
        }
        let caption = String(repeating: "b", count: 1025)
        #expect(
            MessageSplitter.split(caption, entities: [], for: .telegram, isCaption: true).map(\.text.count) == [
                1024, 1,
            ])
    }

    @Test func limitCountsRenderedMarkup() {
        // 12 characters of text, but "<b>" + "</b>" make it 19 rendered.
        let chunks = MessageSplitter.split(
            "aaaaaaaaaaaa", entities: [ent(.bold, 0, 12)], limit: 15, render: TelegramHTML.render)
        #expect(chunks.count == 2)
        for chunk in chunks {
            #expect(TelegramHTML.render(chunk.text, entities: chunk.entities).utf16.count <= 15)
            #expect(chunk.entities == [ent(.bold, 0, chunk.text.utf16.count)])
        }
    }

    /// What is sent: each chunk rendered for its platform, whether the text fits whole or is cut.
    @Test(arguments: [Platform.telegram, .discord], [10, 3000])
    func renderedIsEachChunkRendered(platform: Platform, words: Int) {
        let text = (0..<words).map { "w<\($0)>*" }.joined(separator: " ")
        let entities = [ent(.bold, 0, 20), ent(.italic, 5, 40)]
        func render(_ text: String, _ entities: [MessageEntity]) -> String {
            platform == .telegram
                ? TelegramHTML.render(text, entities: entities) : DiscordMarkdown.render(text, entities: entities)
        }
        let chunks = MessageSplitter.split(text, entities: entities, for: platform)
        let rendered = MessageSplitter.rendered(text, entities: entities, for: platform)
        #expect(chunks.count == (words == 10 ? 1 : rendered.count))
        #expect(rendered.count > (words == 10 ? 0 : 1))
        #expect(rendered == chunks.map { render($0.text, $0.entities) })
    }

    @Test func emptyTextHasNoChunks() {
        #expect(MessageSplitter.split("", entities: [], limit: 10, render: plainRender).isEmpty)
    }

    @Test func shortTextIsReturnedWhole() {
        let chunks = MessageSplitter.split(
            "hi there", entities: [ent(.bold, 3, 5)], limit: 100, render: TelegramHTML.render)
        #expect(chunks.count == 1)
        #expect(chunks.first?.text == "hi there")
        #expect(chunks.first?.entities == [ent(.bold, 3, 5)])
    }

    struct CutCase: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let limit: Int
        let expected: [String]
        var testDescription: String { name }
    }

    @Test(arguments: [
        CutCase(
            name: "paragraph beats newline", text: "aaaaaaaaaaaa\n\nbbb\ncccc dddd", limit: 20,
            expected: ["aaaaaaaaaaaa", "bbb\ncccc dddd"]),
        CutCase(
            name: "newline beats space", text: "aaaa bbbb\ncccc dddd eeee", limit: 16,
            expected: ["aaaa bbbb", "cccc dddd eeee"]),
        CutCase(
            name: "sentence end beats space", text: "aaa bbb. ccc ddd eee", limit: 14,
            expected: ["aaa bbb.", "ccc ddd eee"]),
        CutCase(
            name: "space when nothing better", text: "aaa bbb ccc ddd", limit: 10, expected: ["aaa bbb", "ccc ddd"]),
        CutCase(
            name: "anywhere in a long word", text: "abcdefghijklmnop", limit: 6, expected: ["abcdef", "ghijkl", "mnop"]),
        CutCase(
            name: "early break is not taken", text: "a\n" + String(repeating: "b", count: 18), limit: 10,
            expected: ["a\nbbbbbbbb", "bbbbbbbbbb"]),
        CutCase(
            name: "whitespace runs at the cut are dropped", text: "aaaa   \n\n  bbbb", limit: 8,
            expected: ["aaaa", "bbbb"]),
    ])
    func preferredCuts(_ testCase: CutCase) {
        let chunks = MessageSplitter.split(testCase.text, entities: [], limit: testCase.limit, render: plainRender)
        #expect(chunks.map(\.text) == testCase.expected)
    }

    @Test func cutsPreferToStayOutsideEntities() {
        // The space inside the bold span is later, but the one before the span is outside it.
        let text = "aaaaaaaa bbbb cccc"
        let chunks = MessageSplitter.split(text, entities: [ent(.bold, 9, 9)], limit: 15, render: plainRender)
        #expect(chunks.map(\.text) == ["aaaaaaaa", "bbbb cccc"])
        #expect(chunks.first?.entities == [])
        #expect(chunks.last?.entities == [ent(.bold, 0, 9)])
    }

    @Test func longEntityIsSplitIntoSameKind() {
        let words = (1...40).map { "word\($0)" }.joined(separator: " ")
        let link = ent(.textLink, 0, words.utf16.count, url: "https://x.com")
        let chunks = MessageSplitter.split(words, entities: [link], limit: 80, render: TelegramHTML.render)
        #expect(chunks.count > 1)
        for chunk in chunks {
            #expect(TelegramHTML.render(chunk.text, entities: chunk.entities).utf16.count <= 80)
            #expect(chunk.entities == [ent(.textLink, 0, chunk.text.utf16.count, url: "https://x.com")])
            #expect(!chunk.text.hasPrefix(" ") && !chunk.text.hasSuffix(" "))
        }
        #expect(chunks.map(\.text).joined(separator: " ") == words)
    }

    @Test func codeBlockIsClosedAndReopened() {
        let code = (1...12).map { "    line \($0);" }.joined(separator: "\n")
        let chunks = MessageSplitter.split(
            code, entities: [ent(.pre, 0, code.utf16.count, language: "c")], limit: 120, render: TelegramHTML.render)
        #expect(chunks.count > 1)
        for chunk in chunks {
            let html = TelegramHTML.render(chunk.text, entities: chunk.entities)
            #expect(html.utf16.count <= 120)
            #expect(html.hasPrefix("<pre><code class=\"language-c\">    line "))
            #expect(html.hasSuffix(";</code></pre>"))
        }
        // Only the newline at each cut is dropped: indentation inside the block survives.
        #expect(chunks.map(\.text).joined(separator: "\n") == code)
    }

    @Test func discordCodeBlockSplitKeepsFences() {
        let code = (1...30).map { "x = \($0)" }.joined(separator: "\n")
        let chunks = MessageSplitter.split(
            code, entities: [ent(.pre, 0, code.utf16.count, language: "py")], limit: 100, render: DiscordMarkdown.render
        )
        #expect(chunks.count > 1)
        for chunk in chunks {
            let markdown = DiscordMarkdown.render(chunk.text, entities: chunk.entities)
            #expect(markdown.utf16.count <= 100)
            #expect(markdown.hasPrefix("```py\n") && markdown.hasSuffix("\n```"))
            #expect(DiscordMarkdown.parse(markdown).entities == [ent(.pre, 0, chunk.text.utf16.count, language: "py")])
        }
    }

    @Test(arguments: ["👨‍👩‍👧", "👍🏽", "🇺🇦", "é", "😀"])
    func graphemeClustersStayWhole(cluster: String) {
        let text = String(repeating: cluster, count: 25)
        for limit in [9, 10, 11, 17] where limit >= cluster.utf16.count {
            let chunks = MessageSplitter.split(text, entities: [], limit: limit, render: plainRender)
            #expect(chunks.map(\.text).joined() == text)
            for chunk in chunks {
                #expect(chunk.text.utf16.count <= limit)
                #expect(chunk.text.allSatisfy { String($0) == cluster }, "\(limit): \(chunk.text)")
            }
        }
    }

    @Test func entitiesAreRebasedToTheirChunk() {
        let text = "first part here. second part here."
        let chunks = MessageSplitter.split(
            text, entities: [ent(.bold, 0, 5), ent(.italic, 17, 6)], limit: 20, render: plainRender)
        #expect(chunks.map(\.text) == ["first part here.", "second part here."])
        #expect(chunks.first?.entities == [ent(.bold, 0, 5)])
        #expect(chunks.last?.entities == [ent(.italic, 0, 6)])
    }

    @Test func astralTextEntitiesAreRebased() {
        let text = astralText + " " + astralText
        let chunks = MessageSplitter.split(
            text, entities: [ent(.bold, 27, 4), ent(.bold, 59, 4)], limit: 40, render: TelegramHTML.render)
        #expect(chunks.map(\.text) == [astralText, astralText])
        #expect(chunks.allSatisfy { $0.entities == [ent(.bold, 27, 4)] })
    }

    @Test func tooSmallLimitStillMakesProgress() {
        // Each "*" renders as "\*" on Discord: 2 units, over a limit of 1.
        let chunks = MessageSplitter.split("***", entities: [], limit: 1, render: DiscordMarkdown.render)
        #expect(chunks.map(\.text) == ["*", "*", "*"])
    }

    @Test func markupThatCannotFitIsDropped() {
        let chunks = MessageSplitter.split("ab", entities: [ent(.bold, 0, 2)], limit: 4, render: TelegramHTML.render)
        #expect(chunks.map(\.text) == ["ab"])
        #expect(chunks.first?.entities == [])
    }
}
