import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt password hashing, off the cooperative pool (a hash costs tens of milliseconds).
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of nothing anyone can type, checked when the email is unknown so that an unknown
    /// email takes as long to refuse as a wrong password.
    let decoy: String

    public init(cost: UInt8) {
        self.cost = cost
        self.decoy = Bcrypt.hash(Self.randomToken(bytes: 16), cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies against `hash`, or against the decoy when there is none, taking the same time.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        let target = hash ?? decoy
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return matches && hash != nil
    }

    static func randomToken(bytes count: Int) -> String {
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max) }
        return Data(bytes).base64EncodedString()
    }
}

/// Opaque high-entropy tokens (refresh tokens) and their stored form.
enum OpaqueToken {
    /// 32 random bytes, base64url without padding.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base62.base64URL(bytes)
    }

    static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(token.utf8)))
    }
}

/// API keys as users see them: `afx_live_` + 12 characters of public prefix + 32 secret ones + a
/// 6-character checksum, all base62. The checksum (CRC-32 of everything before it) lets a typo
/// be refused without a database lookup and lets secret scanners recognise a real key.
public struct APIKeyToken: Sendable, Equatable {
    public static let marker = "afx_live_"
    static let prefixLength = 12
    static let secretLength = 32
    static let checksumLength = 6

    /// `afx_live_` + the public part, unique per key, stored and shown in listings.
    public let prefix: String
    public let full: String

    public static func generate() -> APIKeyToken {
        let body = Base62.random(count: prefixLength + secretLength)
        let unchecked = marker + body
        let full = unchecked + Base62.encode(CRC32.checksum(Array(unchecked.utf8)), width: checksumLength)
        return APIKeyToken(prefix: marker + body.prefix(prefixLength), full: full)
    }

    /// Parses a presented key; nil when its shape or checksum is wrong.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.marker),
            text.utf8.count == Self.marker.utf8.count + Self.prefixLength + Self.secretLength + Self.checksumLength,
            text.utf8.allSatisfy({ Base62.alphabet.contains($0) || $0 == UInt8(ascii: "_") })
        else { return nil }
        let unchecked = text.dropLast(Self.checksumLength)
        guard
            Base62.encode(CRC32.checksum(Array(unchecked.utf8)), width: Self.checksumLength)
                == text.suffix(Self.checksumLength)
        else { return nil }
        self.init(prefix: String(text.prefix(Self.marker.count + Self.prefixLength)), full: text)
    }

    private init(prefix: String, full: String) {
        self.prefix = prefix
        self.full = full
    }

    public var hash: [UInt8] { Array(SHA256.hash(data: Data(full.utf8))) }
}

enum Base62 {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func random(count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        // 62 * 4 = 248: rejecting bytes ≥ 248 keeps every character equally likely.
        var out: [UInt8] = []
        while out.count < count {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            if byte < 248 { out.append(alphabet[Int(byte % 62)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(_ value: UInt32, width: Int) -> String {
        var value = value
        var out = [UInt8](repeating: alphabet[0], count: width)
        for index in stride(from: width - 1, through: 0, by: -1) {
            out[index] = alphabet[Int(value % 62)]
            value /= 62
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
