import Foundation
import Testing

@testable import Forwarding

@Suite("Message model")
struct MessageModelTests {
    static let telegramTypes: [(MessageEntity.Kind, String)] = [
        (.bold, "bold"), (.italic, "italic"), (.underline, "underline"), (.strikethrough, "strikethrough"),
        (.spoiler, "spoiler"), (.code, "code"), (.pre, "pre"), (.textLink, "text_link"), (.url, "url"),
        (.email, "email"), (.phoneNumber, "phone_number"), (.mention, "mention"), (.hashtag, "hashtag"),
        (.cashtag, "cashtag"), (.botCommand, "bot_command"), (.blockquote, "blockquote"),
        (.expandableBlockquote, "expandable_blockquote"), (.textMention, "text_mention"),
        (.customEmoji, "custom_emoji"),
    ]

    @Test("Telegram type names map both ways", arguments: telegramTypes)
    func telegramTypeMapping(kind: MessageEntity.Kind, type: String) {
        #expect(kind.telegramType == type)
        #expect(MessageEntity.Kind(telegramType: type) == kind)
    }

    @Test func everyKindHasATelegramMapping() {
        #expect(Set(Self.telegramTypes.map(\.0)) == Set(MessageEntity.Kind.allCases))
    }

    @Test(arguments: ["bank_card", "textLink", "", "BOLD"])
    func unknownTelegramTypesAreNil(type: String) {
        #expect(MessageEntity.Kind(telegramType: type) == nil)
    }

    @Test func messageRoundTripsThroughJSON() throws {
        let message = Message(
            text: "hi 😀", entities: [ent(.textLink, 0, 2, url: "https://x.com"), ent(.pre, 3, 2, language: "swift")],
            media: [Media(kind: .photo, fileID: "AgAD", fileName: "a.jpg", mimeType: "image/jpeg", size: 1234)],
            replyToMessageID: 99, author: Author(displayName: "Ann", username: "ann", avatarURL: "https://a/b.png"))
        let data = try JSONEncoder().encode(message)
        #expect(try JSONDecoder().decode(Message.self, from: data) == message)
    }

    struct EmptyCase: Sendable, CustomTestStringConvertible {
        let message: Message
        let isEmpty: Bool
        var testDescription: String { "\(message.text.debugDescription) media=\(message.media.count)" }
    }

    @Test(arguments: [
        EmptyCase(message: Message(), isEmpty: true),
        EmptyCase(message: Message(text: " \n\t "), isEmpty: true),
        EmptyCase(message: Message(text: "x"), isEmpty: false),
        EmptyCase(message: Message(media: [Media(kind: .sticker, fileID: "s")]), isEmpty: false),
        EmptyCase(message: Message(text: " ", media: [Media(kind: .voice, fileID: "v")]), isEmpty: false),
    ])
    func isEmpty(_ testCase: EmptyCase) {
        #expect(testCase.message.isEmpty == testCase.isEmpty)
    }

    struct SubstringCase: Sendable, CustomTestStringConvertible {
        let text: String
        let offset: Int
        let length: Int
        let expected: String
        var testDescription: String { "\(text) [\(offset), \(length)]" }
    }

    @Test(arguments: [
        SubstringCase(text: "hello", offset: 1, length: 3, expected: "ell"),
        SubstringCase(text: astralText, offset: 27, length: 4, expected: "bold"),
        SubstringCase(text: astralText, offset: 9, length: 14, expected: "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"),
        // Starts and ends inside surrogate pairs: widened to whole scalars.
        SubstringCase(text: "a😀b😀", offset: 2, length: 3, expected: "😀b😀"),
        SubstringCase(text: "a😀b", offset: 2, length: 0, expected: ""),
        SubstringCase(text: "hello", offset: 3, length: 100, expected: "lo"),
        SubstringCase(text: "hello", offset: -2, length: 4, expected: "he"),
        SubstringCase(text: "hello", offset: 10, length: 2, expected: ""),
        SubstringCase(text: "hello", offset: Int.max, length: Int.max, expected: ""),
    ])
    func utf16Substring(_ testCase: SubstringCase) {
        #expect(testCase.text.utf16Substring(offset: testCase.offset, length: testCase.length) == testCase.expected)
    }

    @Test func coveredByEntity() {
        #expect(astralText.covered(by: ent(.bold, 27, 4)) == "bold")
    }

    @Test func entityEndSaturatesInsteadOfTrapping() {
        #expect(ent(.bold, Int.max, 10).end == Int.max)
        #expect(ent(.bold, 3, 4).end == 7)
        #expect(ent(.bold, 3, 4).range == 3..<7)
    }
}
