import Foundation
import Testing

@testable import PlatformSimulators

/// The simulators' JSON writer: what it writes is JSON another parser reads back the same.
@Suite struct SimulatorJSONTests {
    @Test(arguments: [
        "plain text, nothing to escape",
        "",
        "a \"quoted\" word",
        #"back\slash"#,
        "line\nbreak, tab\t, return\r",
        "bell \u{07} and unit separator \u{1F}",
        "emoji 👩‍💻 and astral 𝄞",
        "ünïcödé, and / a slash",
    ])
    func stringsRoundTrip(text: String) throws {
        let written = SimulatorJSON.object(["text": .string(text), "list": .array([.string(text), .int(7)])])
            .jsonString
        let read = try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any]
        #expect(read?["text"] as? String == text)
        #expect((read?["list"] as? [Any])?.first as? String == text)
    }

    @Test func controlCharactersAreWrittenAsEscapes() {
        #expect(SimulatorJSON.string("a\u{01}b").jsonString == #""a\u0001b""#)
        #expect(SimulatorJSON.string("\"\\").jsonString == #""\"\\""#)
    }
}
