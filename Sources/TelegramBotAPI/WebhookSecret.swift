import Crypto
import Foundation

/// The secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`. Only its SHA-256 is stored;
/// a request is checked by hashing what it carries and comparing in constant time.
public enum WebhookSecret {
    public static let headerName = "X-Telegram-Bot-Api-Secret-Token"

    /// 48 characters of [A-Za-z0-9_-] (Telegram allows 1-256 of those).
    public static func generate() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        var generator = SystemRandomNumberGenerator()
        return String((0..<48).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    public static func hash(_ secret: String) -> [UInt8] {
        Array(digest(secret))
    }

    /// True when `header` hashes to `expectedHash`. swift-crypto compares a digest with bytes in
    /// constant time (all bytes, whatever they hold).
    public static func verify(header: String?, expectedHash: [UInt8]) -> Bool {
        guard let header else { return false }
        return digest(header) == expectedHash
    }

    private static func digest(_ secret: String) -> SHA256.Digest {
        SHA256.hash(data: Data(secret.utf8))
    }
}
