import Crypto
import Foundation

/// Encrypts credentials at rest (bot tokens, webhook URLs) with AES-256-GCM. The context (what
/// kind of credential) is authenticated, so a ciphertext copied into another column does not open.
public struct CredentialCipher: Sendable {
    let key: SymmetricKey

    public init(key: [UInt8]) {
        precondition(key.count == 32, "AES-256 needs a 32-byte key")
        self.key = SymmetricKey(data: key)
    }

    /// nonce ‖ ciphertext ‖ tag.
    public func seal(_ plaintext: String, context: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw CredentialError.cannotSeal }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8], context: String) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: Data(sealed))
            let plaintext = try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
            return String(decoding: plaintext, as: UTF8.self)
        } catch {
            throw CredentialError.cannotOpen
        }
    }

    public enum Context {
        public static let telegramToken = "telegram-token"
        public static let discordToken = "discord-token"
        public static let discordWebhook = "discord-webhook-url"
    }
}

public enum CredentialError: Error, CustomStringConvertible {
    case cannotSeal
    case cannotOpen

    public var description: String {
        switch self {
        case .cannotSeal: "the credential could not be encrypted"
        case .cannotOpen:
            "a stored credential cannot be decrypted: AFX_ENCRYPTION_KEY differs from the key it was stored with"
        }
    }
}
