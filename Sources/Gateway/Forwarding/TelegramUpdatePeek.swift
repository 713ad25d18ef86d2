import Foundation

/// Just enough of a Telegram Update to dedupe, order and group it, read in one pass that also
/// checks the whole body is well-formed JSON. The webhook answers thousands of these a second;
/// a Codable decode of the same fields cost more than storing the update.
struct TelegramUpdatePeek: Equatable {
    let updateID: Int64
    /// The chat of the forwardable message (message, channel_post or their edits); nil when the
    /// update carries none of those.
    let chatID: Int64?
    let mediaGroupID: String?

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// The kinds we forward, in the order their message is preferred when several are present.
    static let forwardedKinds = ["message", "channel_post", "edited_message", "edited_channel_post"]

    init(_ data: Data) throws(Malformed) {
        let peeked = data.withUnsafeBytes { raw -> Result<TelegramUpdatePeek, Malformed> in
            var scanner = JSONScanner(bytes: raw.bindMemory(to: UInt8.self))
            return Result { () throws(Malformed) in try scanner.update() }
        }
        self = try peeked.get()
    }

    init(updateID: Int64, chatID: Int64?, mediaGroupID: String?) {
        self.updateID = updateID
        self.chatID = chatID
        self.mediaGroupID = mediaGroupID
    }
}

/// A strict RFC 8259 reader over UTF-8 bytes that skips what it is not asked for.
private struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0
    static let maxDepth = 256

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: The Update

    mutating func update() throws(TelegramUpdatePeek.Malformed) -> TelegramUpdatePeek {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw fail("an Update must be a JSON object") }
        try beginObject()
        var updateID: Int64?
        var messages: [String: (chat: Int64?, group: String?)] = [:]
        var first = true
        while let key = try nextKey(&first) {
            switch key {
            case "update_id":
                updateID = try integer()
            case _ where TelegramUpdatePeek.forwardedKinds.contains(key):
                messages[key] = try message()
            default:
                try skipValue()
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the JSON value") }
        guard let updateID else { throw fail("update_id is missing") }
        guard let chosen = TelegramUpdatePeek.forwardedKinds.lazy.compactMap({ messages[$0] }).first else {
            return TelegramUpdatePeek(updateID: updateID, chatID: nil, mediaGroupID: nil)
        }
        guard let chat = chosen.chat else { throw fail("the message has no chat.id") }
        return TelegramUpdatePeek(updateID: updateID, chatID: chat, mediaGroupID: chosen.group)
    }

    private mutating func message() throws(TelegramUpdatePeek.Malformed) -> (chat: Int64?, group: String?) {
        guard peek() == UInt8(ascii: "{") else { throw fail("a message must be a JSON object") }
        try beginObject()
        var chat: Int64?
        var group: String?
        var first = true
        while let key = try nextKey(&first) {
            switch key {
            case "chat":
                guard peek() == UInt8(ascii: "{") else { throw fail("chat must be a JSON object") }
                try beginObject()
                var firstInChat = true
                while let chatKey = try nextKey(&firstInChat) {
                    if chatKey == "id" { chat = try integer() } else { try skipValue() }
                }
            case "media_group_id":
                guard peek() == UInt8(ascii: "\"") else { throw fail("media_group_id must be a string") }
                group = try string()
            default:
                try skipValue()
            }
        }
        return (chat, group)
    }

    // MARK: Structure

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func fail(_ reason: String) -> TelegramUpdatePeek.Malformed {
        TelegramUpdatePeek.Malformed(description: "\(reason) (at byte \(index))")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8) throws(TelegramUpdatePeek.Malformed) {
        guard peek() == byte else { throw fail("expected '\(Character(UnicodeScalar(byte)))'") }
        index += 1
    }

    private mutating func enter() throws(TelegramUpdatePeek.Malformed) {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nested too deeply") }
    }

    /// Consumes "{" (the caller checked it is there).
    private mutating func beginObject() throws(TelegramUpdatePeek.Malformed) {
        index += 1
        try enter()
    }

    /// The next member's key with its ":" consumed, or nil after the closing "}".
    private mutating func nextKey(_ first: inout Bool) throws(TelegramUpdatePeek.Malformed) -> String? {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return nil
        }
        if !first {
            try expect(UInt8(ascii: ","))
            skipWhitespace()
        }
        first = false
        guard peek() == UInt8(ascii: "\"") else { throw fail("expected a member name") }
        let key = try string()
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
        skipWhitespace()
        return key
    }

    private mutating func skipValue() throws(TelegramUpdatePeek.Malformed) {
        skipWhitespace()
        guard let byte = peek() else { throw fail("unexpected end of the body") }
        switch byte {
        case UInt8(ascii: "{"):
            try beginObject()
            var first = true
            while try nextKey(&first) != nil { try skipValue() }
        case UInt8(ascii: "["):
            index += 1
            try enter()
            var first = true
            while true {
                skipWhitespace()
                if peek() == UInt8(ascii: "]") {
                    index += 1
                    depth -= 1
                    break
                }
                if !first { try expect(UInt8(ascii: ",")) }
                first = false
                try skipValue()
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try number()
        default:
            throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(TelegramUpdatePeek.Malformed) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of the body") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw fail("unexpected character")
        }
        index += count
    }

    // MARK: Numbers

    /// Consumes a number; returns whether it was a plain integer.
    private mutating func number() throws(TelegramUpdatePeek.Malformed) -> Bool {
        var integral = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let lead = peek(), isDigit(lead) else { throw fail("a number needs digits") }
        index += 1
        if lead != UInt8(ascii: "0") { skipDigits() }
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard let digit = peek(), isDigit(digit) else { throw fail("a fraction needs digits") }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), isDigit(digit) else { throw fail("an exponent needs digits") }
            skipDigits()
        }
        return integral
    }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private mutating func skipDigits() {
        while let byte = peek(), isDigit(byte) { index += 1 }
    }

    private mutating func integer() throws(TelegramUpdatePeek.Malformed) -> Int64 {
        let start = index
        guard let byte = peek(), byte == UInt8(ascii: "-") || isDigit(byte) else { throw fail("expected an integer") }
        guard try number() else { throw fail("expected an integer") }
        var value: Int64 = 0
        var position = start
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        while position < index {
            let digit = Int64(bytes[position] - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw fail("integer out of range") }
            value = next
            position += 1
        }
        return value
    }

    // MARK: Strings

    private mutating func skipString() throws(TelegramUpdatePeek.Malformed) {
        _ = try scanString()
    }

    private mutating func string() throws(TelegramUpdatePeek.Malformed) -> String {
        let start = index + 1
        let escaped = try scanString()
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
        return escaped ? try unescape(raw) : String(decoding: raw, as: UTF8.self)
    }

    /// Consumes a string, checking its escapes; returns whether it had any.
    private mutating func scanString() throws(TelegramUpdatePeek.Malformed) -> Bool {
        index += 1
        var escaped = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                guard index + 1 < bytes.count else { throw fail("unterminated string") }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 5 < bytes.count, (2...5).allSatisfy({ hexValue(bytes[index + $0]) != nil }) else {
                        throw fail("bad \\u escape")
                    }
                    index += 6
                default:
                    throw fail("bad escape")
                }
            case 0..<0x20:
                throw fail("control character in a string")
            default:
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Decodes the escapes of a string already checked by `scanString`.
    private func unescape(_ raw: UnsafeBufferPointer<UInt8>) throws(TelegramUpdatePeek.Malformed) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var position = 0
        var pendingHigh: UInt32?
        func append(_ scalar: UInt32) {
            let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(character).utf8))
        }
        while position < raw.count {
            let byte = raw[position]
            guard byte == UInt8(ascii: "\\") else {
                if let high = pendingHigh {
                    append(high)
                    pendingHigh = nil
                }
                out.append(byte)
                position += 1
                continue
            }
            let code = raw[position + 1]
            position += 2
            if code == UInt8(ascii: "u") {
                var value: UInt32 = 0
                for offset in 0..<4 { value = value << 4 | (hexValue(raw[position + offset]) ?? 0) }
                position += 4
                if (0xD800...0xDBFF).contains(value) {
                    if let high = pendingHigh { append(high) }
                    pendingHigh = value
                    continue
                }
                if (0xDC00...0xDFFF).contains(value), let high = pendingHigh {
                    append(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))
                    pendingHigh = nil
                    continue
                }
                if let high = pendingHigh {
                    append(high)
                    pendingHigh = nil
                }
                append(value)
                continue
            }
            if let high = pendingHigh {
                append(high)
                pendingHigh = nil
            }
            switch code {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            default: out.append(code)
            }
        }
        if let high = pendingHigh { append(high) }
        return String(decoding: out, as: UTF8.self)
    }
}
