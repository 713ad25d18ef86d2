import Foundation
import Testing

@testable import Gateway

/// The webhook's one-pass reader: the fields it extracts, and that it refuses exactly what a
/// JSON parser refuses.
@Suite struct TelegramUpdatePeekTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let json: String
        let expected: TelegramUpdatePeek?
        var testDescription: String { json }
    }

    static let accepted: [Case] = [
        Case(
            json: #"{"update_id":1,"message":{"message_id":5,"chat":{"id":-100123,"type":"supergroup"},"text":"hi"}}"#,
            expected: .init(updateID: 1, chatID: -100123, mediaGroupID: nil)),
        Case(
            json:
                #"{"message":{"chat":{"type":"private","id":42},"media_group_id":"1335"},"update_id":9007199254740993}"#,
            expected: .init(updateID: 9_007_199_254_740_993, chatID: 42, mediaGroupID: "1335")),
        Case(
            json: #" { "update_id" : 7 , "edited_channel_post" : { "chat" : { "id" : -1001 } } } "#,
            expected: .init(updateID: 7, chatID: -1001, mediaGroupID: nil)),
        // Not forwarded: no chat is needed.
        Case(
            json: #"{"update_id":3,"callback_query":{"id":"x","data":[1,2.5e3,true,null,{"a":"\u00e9\n"}]}}"#,
            expected: .init(updateID: 3, chatID: nil, mediaGroupID: nil)),
        // Escapes in names and values, and astral characters.
        Case(
            json:
                #"{"update\u005fid":4,"channel_post":{"chat":{"id":-5},"media_group_id":"g\"\ud83d\ude80","text":"🚀"}}"#,
            expected: .init(updateID: 4, chatID: -5, mediaGroupID: "g\"🚀")),
        // A message is preferred over an edit when both are present.
        Case(
            json: #"{"update_id":5,"edited_message":{"chat":{"id":1}},"message":{"chat":{"id":2}}}"#,
            expected: .init(updateID: 5, chatID: 2, mediaGroupID: nil)),
    ]

    @Test(arguments: accepted) func extractsTheFields(_ item: Case) throws {
        #expect(try TelegramUpdatePeek(Data(item.json.utf8)) == item.expected)
        // Sanity: these are valid JSON for Foundation too.
        #expect((try? JSONSerialization.jsonObject(with: Data(item.json.utf8))) != nil)
    }

    static let refused: [String] = [
        "", "null", "[]", #""update_id""#, "{", #"{"update_id":1"#, #"{"update_id":1,}"#, #"{"update_id":1}x"#,
        #"{"update_id":1.5}"#, #"{"update_id":"1"}"#, #"{"update_id":99999999999999999999}"#, #"{"other":1}"#,
        #"{"update_id":1,"message":{"text":"no chat"}}"#, #"{"update_id":1,"message":"text"}"#,
        #"{"update_id":1,"x":[1,]}"#, #"{"update_id":1,"x":01}"#, #"{"update_id":1,"x":"\q"}"#,
        #"{"update_id":1,"x":"\u12"}"#, "{\"update_id\":1,\"x\":\"a\u{01}b\"}", #"{"update_id":1,"x":tru}"#,
        #"{'update_id':1}"#, #"{"update_id":1 "x":2}"#, #"{"update_id":-}"#, #"{"update_id":1,"x":1.}"#,
        #"{"update_id":1,"x":"# + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}",
    ]

    @Test(arguments: refused) func refusesWhatIsNotAnUpdate(_ json: String) {
        #expect(throws: TelegramUpdatePeek.Malformed.self) { try TelegramUpdatePeek(Data(json.utf8)) }
    }
}
