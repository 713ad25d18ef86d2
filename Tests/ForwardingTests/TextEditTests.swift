import Testing

@testable import Forwarding

@Suite("TextEdit")
struct TextEditTests {
    struct EditCase: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let entities: [MessageEntity]
        let edits: [TextEdit]
        let expectedText: String
        let expectedEntities: [MessageEntity]
        var testDescription: String { name }

        init(
            _ name: String, _ text: String, _ entities: [MessageEntity], _ edits: [TextEdit], _ expectedText: String,
            _ expectedEntities: [MessageEntity]
        ) {
            self.name = name
            self.text = text
            self.entities = entities
            self.edits = edits
            self.expectedText = expectedText
            self.expectedEntities = expectedEntities
        }
    }

    // "hello world" with "world" bold (6..<11) throughout, unless stated.
    static let cases: [EditCase] = [
        EditCase(
            "insert before shifts", "hello world", [ent(.bold, 6, 5)], [.insert(">> ", at: 0)], ">> hello world",
            [ent(.bold, 9, 5)]),
        EditCase(
            "insert at entity start stays outside", "hello world", [ent(.bold, 6, 5)], [.insert("big ", at: 6)],
            "hello big world", [ent(.bold, 10, 5)]),
        EditCase(
            "insert at entity end stays outside", "hello world", [ent(.bold, 6, 5)], [.insert("!", at: 11)],
            "hello world!", [ent(.bold, 6, 5)]),
        EditCase(
            "insert strictly inside grows", "hello world", [ent(.bold, 6, 5)], [.insert("--", at: 8)], "hello wo--rld",
            [ent(.bold, 6, 7)]),
        EditCase(
            "insert after is untouched", "hello world", [ent(.bold, 0, 5)], [.insert("!", at: 11)], "hello world!",
            [ent(.bold, 0, 5)]),
        EditCase(
            "replace exactly the entity keeps it", "hello world", [ent(.bold, 6, 5)],
            [TextEdit(range: 6..<11, replacement: "planet")], "hello planet", [ent(.bold, 6, 6)]),
        EditCase(
            "replace inside shrinks", "hello world", [ent(.bold, 6, 5)], [TextEdit(range: 7..<10, replacement: "X")],
            "hello wXd", [ent(.bold, 6, 3)]),
        EditCase(
            "replace before shifts by delta", "hello world", [ent(.bold, 6, 5)],
            [TextEdit(range: 0..<5, replacement: "hi")], "hi world", [ent(.bold, 3, 5)]),
        EditCase("delete the entity text drops it", "hello world", [ent(.bold, 6, 5)], [.delete(5..<11)], "hello", []),
        EditCase(
            "delete exactly the entity drops it", "hello world", [ent(.bold, 6, 5)], [.delete(6..<11)], "hello ", []),
        EditCase(
            "overlap at the entity end truncates", "hello world", [ent(.bold, 0, 8)],
            [TextEdit(range: 6..<11, replacement: "you")], "hello you", [ent(.bold, 0, 6)]),
        EditCase(
            "overlap at the entity start trims", "hello world", [ent(.bold, 3, 8)],
            [TextEdit(range: 0..<5, replacement: "HI")], "HI world", [ent(.bold, 2, 6)]),
        EditCase(
            "entity inside a larger replacement is dropped", "a bold b", [ent(.bold, 2, 4)],
            [TextEdit(range: 1..<7, replacement: "-")], "a-b", []),
        EditCase(
            "covering entity grows with replacement", "a bold b", [ent(.italic, 0, 8)],
            [TextEdit(range: 2..<6, replacement: "strong")], "a strong b", [ent(.italic, 0, 10)]),
        EditCase(
            "several edits in original offsets", "one two three", [ent(.bold, 4, 3), ent(.italic, 8, 5)],
            [TextEdit(range: 0..<3, replacement: "1"), TextEdit(range: 8..<13, replacement: "3")], "1 two 3",
            [ent(.bold, 2, 3), ent(.italic, 6, 1)]),
        EditCase(
            "overlapping edit is ignored", "abcdef", [],
            [TextEdit(range: 1..<4, replacement: "X"), TextEdit(range: 2..<5, replacement: "Y")],
            "aXef", []),
        EditCase(
            "insertions at one offset keep order", "ab", [], [.insert("1", at: 1), .insert("2", at: 1)], "a12b", []),
        EditCase(
            "insertion before a replacement at the same offset", "ab", [],
            [TextEdit(range: 0..<1, replacement: "X"), .insert("1", at: 0)], "1Xb", []),
        EditCase(
            "astral text offsets", astralText, [ent(.bold, 27, 4), ent(.italic, 9, 14)],
            [TextEdit(range: 0..<8, replacement: "fam")], "fam 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 bold",
            [ent(.bold, 22, 4), ent(.italic, 4, 14)]),
        EditCase(
            "range splitting a surrogate pair widens", "a😀b", [ent(.bold, 3, 1)], [.delete(2..<3)], "ab",
            [ent(.bold, 1, 1)]),
        EditCase(
            "out-of-range edit is clamped", "abc", [ent(.bold, 0, 3)], [.insert("!", at: 99)], "abc!",
            [ent(.bold, 0, 3)]),
        EditCase(
            "no edits normalizes entities", "abc", [ent(.bold, 1, 99), ent(.italic, 0, 0)], [], "abc",
            [ent(.bold, 1, 2)]),
    ]

    @Test(arguments: cases)
    func apply(_ testCase: EditCase) {
        let result = TextEdit.apply(testCase.edits, to: testCase.text, entities: testCase.entities)
        #expect(result.text == testCase.expectedText)
        #expect(result.entities == testCase.expectedEntities)
    }

    @Test func messageApplyingKeepsOtherFields() {
        let message = Message(
            text: "hi there", entities: [ent(.bold, 3, 5)], media: [Media(kind: .photo, fileID: "p")],
            replyToMessageID: 7, author: Author(displayName: "A"))
        let edited = message.applying([.insert("oh ", at: 0)])
        #expect(edited.text == "oh hi there")
        #expect(edited.entities == [ent(.bold, 6, 5)])
        #expect(edited.media == message.media)
        #expect(edited.replyToMessageID == 7)
        #expect(edited.author == message.author)
    }

    /// Every surviving entity must still cover text that was inside it originally (or replacement
    /// text strictly inside it), and stay within the new text.
    @Test func randomEditsKeepEntitiesInBounds() {
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<500 {
            let text = String(repeating: "ab😀 ", count: Int.random(in: 1...6, using: &rng))
            let count = text.utf16.count
            let entities = (0..<3).map { _ in
                let offset = Int.random(in: 0..<count, using: &rng)
                return ent(.bold, offset, Int.random(in: 1...(count - offset), using: &rng))
            }
            let start = Int.random(in: 0...count, using: &rng)
            let end = Int.random(in: start...count, using: &rng)
            let edit = TextEdit(range: start..<end, replacement: ["", "x", "😀😀"].randomElement(using: &rng) ?? "")
            let result = TextEdit.apply([edit], to: text, entities: entities)
            let newCount = result.text.utf16.count
            for entity in result.entities {
                #expect(entity.length > 0 && entity.offset >= 0 && entity.end <= newCount, "\(text) \(edit) \(entity)")
                #expect(!result.text.covered(by: entity).contains("\u{FFFD}"))
            }
        }
    }
}
