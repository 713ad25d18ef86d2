import Crypto
import DiscordAPI
import Forwarding
import Foundation
import Testing

@testable import Gateway

/// Discord messages as the Gateway delivers them, turned into the neutral message.
@Suite struct DiscordMessageMapperTests {
    func map(_ json: String, names: DiscordStoredEvent.Names = .init()) throws -> Message {
        let message = try JSONDecoder.discord.decode(DiscordGatewayMessage.self, from: Data(json.utf8))
        return DiscordMessageMapper.message(from: message, names: names)
    }

    func message(content: String, extra: String = "") -> String {
        let quoted = String(decoding: (try? JSONEncoder().encode(content)) ?? Data(), as: UTF8.self)
        return #"{"id":"10","channel_id":"20","content":"# + quoted
            + #","author":{"id":"30","username":"alice","global_name":"Alice","avatar":"abc"}"# + extra + "}"
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let content: String
        let text: String
        var testDescription: String { content }
    }

    static let tokens: [Case] = [
        Case(content: "hi <@2>", text: "hi @Bob"),
        Case(content: "hi <@!2>", text: "hi @Bob"),
        Case(content: "hi <@9>", text: "hi @unknown-user"),
        Case(content: "for <@&5>", text: "for @Moderators"),
        Case(content: "in <#6>", text: "in #general"),
        Case(content: "in <#7>", text: "in #unknown-channel"),
        Case(content: "wave <:blob:123> <a:dance:456>", text: "wave :blob: :dance:"),
        Case(content: "at <t:0:R>", text: "at 1970-01-01 00:00 UTC"),
        Case(content: "a < b > c", text: "a < b > c"),
        Case(content: "<not a token>", text: "<not a token>"),
        Case(content: "@everyone look", text: "@everyone look"),
        Case(content: "<https://example.com>", text: "https://example.com"),
    ]

    @Test(arguments: tokens) func tokensBecomeWhatAReaderSees(_ test: Case) throws {
        let names = DiscordStoredEvent.Names(roles: ["5": "Moderators"], channels: ["6": "general"])
        let mapped = try map(
            message(content: test.content, extra: #","mentions":[{"id":"2","username":"bob","global_name":"Bob"}]"#),
            names: names)
        #expect(mapped.text == test.text)
    }

    @Test func markdownBecomesEntitiesAndNamesCannotInjectIt() throws {
        let mapped = try map(
            message(
                content: "**bold** <@2>",
                extra: #","mentions":[{"id":"2","username":"x","member":{"nick":"*not italic*"}}]"#))
        #expect(mapped.text == "bold @*not italic*")
        #expect(mapped.entities.count == 1)
        #expect(mapped.entities.first?.kind == .bold)
    }

    @Test func richEmbedsAndStickersBecomeTextLinkPreviewsDoNot() throws {
        let mapped = try map(
            message(
                content: "news",
                extra: #"""
                    ,"embeds":[{"type":"rich","title":"Release","description":"v2 is *out*","fields":[{"name":"When","value":"today"}],"url":"https://example.com/r"},
                    {"type":"article","title":"Preview","url":"https://example.com/p"}],
                    "sticker_items":[{"id":"1","name":"party"}]
                    """#))
        #expect(mapped.text == "news\n\nRelease\nv2 is out\nWhen: today\nhttps://example.com/r\n[sticker: party]")
        #expect(mapped.entities.contains { $0.kind == .italic })
    }

    @Test func attachmentsRepliesAndAuthorCarryOver() throws {
        let mapped = try map(
            message(
                content: "look",
                extra: #"""
                    ,"member":{"nick":"Ally"},
                    "attachments":[{"id":"1","filename":"a.png","size":10,"url":"https://cdn/a.png","content_type":"image/png"},
                    {"id":"2","filename":"b.gif","size":11,"url":"https://cdn/b.gif","content_type":"image/gif"},
                    {"id":"3","filename":"c.mp4","size":12,"url":"https://cdn/c.mp4","content_type":"video/mp4"},
                    {"id":"4","filename":"d.zip","size":13,"url":"https://cdn/d.zip"}],
                    "message_reference":{"message_id":"99"},
                    "referenced_message":{"content":"the **original** post\nsecond line","author":{"id":"31","username":"bob"}}
                    """#))
        #expect(mapped.media.map(\.kind) == [.photo, .animation, .video, .document])
        #expect(mapped.media.first?.fileID == "https://cdn/a.png")
        #expect(mapped.media.last?.size == 13)
        #expect(mapped.replyToMessageID == 99)
        #expect(mapped.replyQuote == "bob: the original post")
        #expect(
            mapped.author
                == Author(
                    displayName: "Ally", username: "alice", avatarURL: "https://cdn.discordapp.com/avatars/30/abc.png"))
    }

    @Test func storedEventsKeepTheFrameAsSent() throws {
        let frame = #"{"op":0,"s":4,"t":"MESSAGE_CREATE","d":{"id":"1","channel_id":"2","content":"x"}}"#
        let stored = DiscordStoredEvent.encode(frame: frame, names: .init(roles: ["5": "Mods"], channels: [:]))
        let object = try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any]
        #expect((object?["frame"] as? [String: Any])?["t"] as? String == "MESSAGE_CREATE")
        #expect(((object?["names"] as? [String: Any])?["roles"] as? [String: String]) == ["5": "Mods"])
    }
}

/// Discord's interaction signatures: Ed25519 over timestamp + body, hex encoded.
@Suite struct InteractionSignatureTests {
    let key = Curve25519.Signing.PrivateKey()
    var publicHex: String { key.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined() }

    func sign(_ timestamp: String, _ body: String) throws -> String {
        try key.signature(for: Data((timestamp + body).utf8)).map { String(format: "%02x", $0) }.joined()
    }

    @Test func aValidSignatureVerifies() throws {
        let now = Date()
        let stamp = String(Int(now.timeIntervalSince1970))
        let signature = try sign(stamp, #"{"type":1}"#)
        #expect(
            InteractionSignature.verify(
                publicKeyHex: publicHex, signatureHex: signature, timestamp: stamp, body: Array(#"{"type":1}"#.utf8),
                now: now, maxAge: .seconds(300)) == nil)
        #expect(
            InteractionSignature.verify(
                publicKeyHex: publicHex.uppercased(), signatureHex: signature.uppercased(), timestamp: stamp,
                body: Array(#"{"type":1}"#.utf8), now: now, maxAge: .seconds(300)) == nil)
    }

    @Test func tamperingStaleAndMissingAreRefused() throws {
        let now = Date()
        let stamp = String(Int(now.timeIntervalSince1970))
        let body = #"{"type":1}"#
        let signature = try sign(stamp, body)
        func check(_ signature: String?, _ timestamp: String?, _ body: String, at: Date = now)
            -> InteractionSignature.Failure?
        {
            InteractionSignature.verify(
                publicKeyHex: publicHex, signatureHex: signature, timestamp: timestamp, body: Array(body.utf8), now: at,
                maxAge: .seconds(300))
        }
        #expect(check(signature, stamp, #"{"type":2}"#) == .invalid)
        #expect(check(signature, String(Int(now.timeIntervalSince1970) + 1), body) == .invalid)
        #expect(check(signature, stamp, body, at: now.addingTimeInterval(301)) == .stale)
        #expect(check(signature, stamp, body, at: now.addingTimeInterval(-301)) == .stale)
        #expect(check(nil, stamp, body) == .missingHeaders)
        #expect(check(signature, nil, body) == .missingHeaders)
        #expect(check(String(signature.dropLast(2)), stamp, body) == .missingHeaders)
        #expect(check("zz" + signature.dropFirst(2), stamp, body) == .missingHeaders)
    }
}
