import Testing

@testable import Forwarding

@Suite("MessageSplitter properties")
struct SplitterPropertyTests {
    static let pieces: [String] = [
        "word", "longerword", "a", " ", " ", " ", "\n", "\n\n", ". ", "! ", "<&>", "*_~`|", "@everyone", "> ",
        "# ", "👨‍👩‍👧", "👍🏽", "🇺🇦", "𝔘𝔫", "é", "\t", "https://x.com/a_b ", "```", "\\",
    ]
    static let kinds: [MessageEntity.Kind] = [
        .bold, .italic, .underline, .strikethrough, .spoiler, .code, .pre, .textLink, .blockquote,
        .expandableBlockquote, .customEmoji, .textMention, .mention, .url,
    ]

    typealias Renderer = @Sendable (String, [MessageEntity]) -> String

    @Test(arguments: [
        ("telegram", 11 as UInt64), ("discord", 12 as UInt64),
    ])
    func randomTextsSplitWithinLimit(platform: String, seed: UInt64) {
        let render: Renderer = platform == "telegram" ? TelegramHTML.render : DiscordMarkdown.render
        var rng = SeededGenerator(seed: seed)
        var splitCount = 0
        var entityCuts = 0
        for iteration in 0..<300 {
            let text = (0..<Int.random(in: 0...160, using: &rng)).map { _ in
                Self.pieces.randomElement(using: &rng) ?? "a"
            }.joined()
            let count = text.utf16.count
            let entities: [MessageEntity] =
                count == 0
                ? []
                : (0..<Int.random(in: 0...8, using: &rng)).map { _ in
                    let offset = Int.random(in: 0..<count, using: &rng)
                    let length = Int.random(in: 1...min(count - offset, 300), using: &rng)
                    return ent(
                        Self.kinds.randomElement(using: &rng) ?? .bold, offset, length, url: "https://example.com/p",
                        language: "swift", userID: 5, emoji: "123")
                }
            let limit = [24, 40, 64, 100, 257].randomElement(using: &rng) ?? 64
            let chunks = MessageSplitter.split(text, entities: entities, limit: limit, render: render)
            let context = "\(platform) #\(iteration) limit \(limit): \(text.debugDescription) \(entities)"

            for chunk in chunks {
                #expect(render(chunk.text, chunk.entities).utf16.count <= limit, "\(context)\nchunk: \(chunk)")
                #expect(!chunk.text.isEmpty, "\(context)")
                for entity in chunk.entities {
                    #expect(
                        entity.offset >= 0 && entity.length > 0 && entity.end <= chunk.text.utf16.count, "\(context)")
                }
            }
            #expect(reassembles(text, from: chunks.map(\.text)), "\(context)\nchunks: \(chunks.map(\.text))")
            if chunks.count > 1 { splitCount += 1 }
            entityCuts += max(0, chunks.map(\.entities.count).reduce(0, +) - entities.count)
        }
        // The generator must really exercise splitting, including entities cut across chunks.
        #expect(splitCount > 150)
        #expect(entityCuts > 100)
    }

    /// The chunks, in order, are the original text with only whitespace removed between them
    /// (and possibly at the very end).
    private func reassembles(_ text: String, from chunks: [String]) -> Bool {
        var rest = Substring(text)
        for chunk in chunks {
            guard let found = firstPrefix(of: chunk, in: rest) else { return false }
            rest = found
        }
        return rest.allSatisfy(\.isWhitespace)
    }

    /// Drops leading whitespace from `rest` until `chunk` is a prefix; returns what follows it.
    private func firstPrefix(of chunk: String, in rest: Substring) -> Substring? {
        var candidate = rest
        while true {
            if candidate.hasPrefix(chunk) { return candidate.dropFirst(chunk.count) }
            guard let first = candidate.first, first.isWhitespace else { return nil }
            candidate = candidate.dropFirst()
        }
    }

    @Test func reassemblyCheckCanFail() {
        #expect(!reassembles("ab cd", from: ["ab", "c"]))
        #expect(!reassembles("ab cd", from: ["ab", "xd"]))
        #expect(reassembles("ab \n cd", from: ["ab", "cd"]))
    }
}
