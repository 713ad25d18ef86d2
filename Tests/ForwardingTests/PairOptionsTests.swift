import Foundation
import Testing

@testable import Forwarding

@Suite("PairOptions")
struct PairOptionsTests {
    private func decode(_ json: String) throws -> PairOptions {
        try JSONDecoder().decode(PairOptions.self, from: Data(json.utf8))
    }

    @Test func emptyJSONDecodesToDefaults() throws {
        let options = try decode("{}")
        #expect(options == PairOptions())
        #expect(options.forwardEdits && options.forwardRepliesAsReplies && options.includeMedia)
        #expect(!options.stripLinks && !options.stripMentions && !options.showSender)
        #expect(options.header == nil && options.footer == nil)
    }

    @Test func partialJSONKeepsDefaultsForMissingKeys() throws {
        let options = try decode(
            #"{"includeKeywords": ["sale"], "stripLinks": true, "footer": "bye", "futureSetting": 3}"#)
        var expected = PairOptions()
        expected.includeKeywords = ["sale"]
        expected.stripLinks = true
        expected.footer = "bye"
        #expect(options == expected)
    }

    @Test func regexRuleWithOnlyAPatternDecodes() throws {
        let options = try decode(#"{"regexReplacements": [{"pattern": "a+"}]}"#)
        #expect(options.regexReplacements == [RegexReplacement(pattern: "a+", replacement: "", caseInsensitive: false)])
    }

    @Test func regexRuleWithoutPatternFails() {
        #expect(throws: DecodingError.self) { try decode(#"{"regexReplacements": [{"replacement": "x"}]}"#) }
    }

    @Test func wrongTypeStillFails() {
        #expect(throws: DecodingError.self) { try decode(#"{"stripLinks": "yes"}"#) }
    }

    @Test func fullRoundTrip() throws {
        let options = PairOptions(
            includeKeywords: ["a"], excludeKeywords: ["b"],
            regexReplacements: [RegexReplacement(pattern: "x", replacement: "y", caseInsensitive: true)],
            stripLinks: true, stripMentions: true, header: "h", footer: "f", showSender: true, forwardEdits: false,
            forwardRepliesAsReplies: false, includeMedia: false)
        let data = try JSONEncoder().encode(options)
        #expect(try JSONDecoder().decode(PairOptions.self, from: data) == options)
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        let name: String
        let options: PairOptions
        let field: String
        var testDescription: String { name }
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase(
            name: "too many include keywords",
            options: PairOptions(includeKeywords: (0...50).map { "k\($0)" }), field: "includeKeywords"),
        InvalidCase(
            name: "too many exclude keywords",
            options: PairOptions(excludeKeywords: (0...50).map { "k\($0)" }), field: "excludeKeywords"),
        InvalidCase(
            name: "keyword too long",
            options: PairOptions(excludeKeywords: ["ok", String(repeating: "x", count: 101)]),
            field: "excludeKeywords[1]"),
        InvalidCase(name: "blank keyword", options: PairOptions(includeKeywords: [" "]), field: "includeKeywords[0]"),
        InvalidCase(
            name: "invalid regex",
            options: PairOptions(regexReplacements: [
                RegexReplacement(pattern: "ok"), RegexReplacement(pattern: "(unclosed"),
            ]),
            field: "regexReplacements[1].pattern"),
        InvalidCase(
            name: "empty regex", options: PairOptions(regexReplacements: [RegexReplacement(pattern: "")]),
            field: "regexReplacements[0].pattern"),
        InvalidCase(
            name: "regex too long",
            options: PairOptions(regexReplacements: [RegexReplacement(pattern: String(repeating: "a", count: 501))]),
            field: "regexReplacements[0].pattern"),
        InvalidCase(
            name: "replacement too long",
            options: PairOptions(regexReplacements: [
                RegexReplacement(pattern: "a", replacement: String(repeating: "b", count: 501))
            ]), field: "regexReplacements[0].replacement"),
        InvalidCase(
            name: "too many regex rules",
            options: PairOptions(regexReplacements: Array(repeating: RegexReplacement(pattern: "a"), count: 21)),
            field: "regexReplacements"),
        InvalidCase(
            name: "header too long", options: PairOptions(header: String(repeating: "h", count: 501)), field: "header"),
        InvalidCase(
            name: "footer too long", options: PairOptions(footer: String(repeating: "f", count: 501)), field: "footer"),
    ]

    @Test("invalid options name the field", arguments: invalidCases)
    func invalid(_ testCase: InvalidCase) {
        do {
            try testCase.options.validate()
            Issue.record("expected \(testCase.field) to be rejected")
        } catch {
            #expect(error.field == testCase.field)
            #expect(error.message.hasPrefix(testCase.field + ": "))
            #expect("\(error)" == error.message)
        }
    }

    @Test func validOptionsAtTheLimitsPass() throws {
        let options = PairOptions(
            includeKeywords: (0..<50).map { "k\($0)" }, excludeKeywords: [String(repeating: "x", count: 100)],
            regexReplacements: Array(repeating: RegexReplacement(pattern: "(\\d+)", replacement: "#$1"), count: 20),
            header: String(repeating: "h", count: 500), footer: "👍")
        try options.validate()
        try PairOptions().validate()
    }
}
