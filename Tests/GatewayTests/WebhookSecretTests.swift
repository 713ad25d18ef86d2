import TelegramBotAPI
import Testing

/// The Telegram webhook secret: only its hash is kept, and a request's header is checked against it.
@Suite struct WebhookSecretTests {
    @Test func theSecretItselfMatchesItsHash() {
        let secret = WebhookSecret.generate()
        #expect(WebhookSecret.verify(header: secret, expectedHash: WebhookSecret.hash(secret)))
    }

    @Test func anythingElseDoesNot() {
        let secret = WebhookSecret.generate()
        let hash = WebhookSecret.hash(secret)
        #expect(!WebhookSecret.verify(header: nil, expectedHash: hash))
        #expect(!WebhookSecret.verify(header: "", expectedHash: hash))
        #expect(!WebhookSecret.verify(header: secret + "x", expectedHash: hash))
        #expect(!WebhookSecret.verify(header: String(secret.dropLast()), expectedHash: hash))
        #expect(!WebhookSecret.verify(header: WebhookSecret.generate(), expectedHash: hash))
        // A stored hash of the wrong length (a damaged row) matches nothing.
        #expect(!WebhookSecret.verify(header: secret, expectedHash: Array(hash.prefix(31))))
        #expect(!WebhookSecret.verify(header: secret, expectedHash: []))
    }

    @Test func generatedSecretsUseTelegramsAlphabetAndDiffer() {
        let secrets = (0..<20).map { _ in WebhookSecret.generate() }
        #expect(Set(secrets).count == 20)
        for secret in secrets {
            #expect(secret.count == 48)
            #expect(secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        }
    }
}
