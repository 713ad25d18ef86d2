import Foundation
import Gateway
import PostgresNIO
import Store
import TelegramBotAPI
import TestSupport
import Testing

/// The webhook never acknowledges what it could not store: PostgreSQL down means 503, so
/// Telegram keeps the update and retries, and the retry after recovery is stored once.
@Suite(.timeLimit(.minutes(3))) struct WebhookOutageTests {
    @Test func databaseDownIs503AndTheRetryIsStored() async throws {
        let cluster = try await PostgresCluster.start()
        do {
            let database = try await TestDatabase.create(on: cluster.url)
            try await TestApp.with(database: database.url) { app in
                let secret = "outage-secret-0123456789"
                let accountID = try await Self.seedBot(app: app, secret: secret)
                let url = "\(app.baseURL)/telegram/\(accountID)/webhook"
                let headers = [("X-Telegram-Bot-Api-Secret-Token", secret), ("Content-Type", "application/json")]
                let update = Array(
                    #"{"update_id":77,"message":{"message_id":1,"date":1700000000,"chat":{"id":-100500,"type":"supergroup"},"text":"hello"}}"#
                        .utf8)

                try await cluster.stopServer()
                let down = try await app.client.send(.POST, url, headers: headers, body: update)
                #expect(down.status == 503)
                #expect(try down.errorCode() == "database_unavailable")

                try await cluster.startServer()
                var status = 0
                for _ in 0..<50 where status != 200 {
                    status = try await app.client.send(.POST, url, headers: headers, body: update).status
                    if status != 200 { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(status == 200)
                // Telegram redelivers the same update_id: still one stored update, one route job.
                #expect(try await app.client.send(.POST, url, headers: headers, body: update).status == 200)
                let counts = try await app.app.postgres.query(
                    "SELECT (SELECT count(*) FROM inbound_events)::int, (SELECT count(*) FROM jobs)::int"
                ).collect().first!.decode((Int, Int).self)
                #expect(counts.0 == 1)
                #expect(counts.1 <= 1)  // the route job, unless a worker already ran it
            }
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    /// A user with a bot whose webhook secret is `secret`, and the bot cached by one request
    /// (an update type we do not forward) while the database is up.
    static func seedBot(app: TestApp, secret: String) async throws -> Int64 {
        let user = try await UserRepository(client: app.app.postgres).create(
            email: "outage@example.test", plan: "elite")
        let accounts = AccountRepository(client: app.app.postgres)
        let cipher = CredentialCipher(key: Array(repeating: 7, count: 32))
        let account = try await accounts.createTelegram(
            userID: user.id, botUserID: 424_243, username: "outage_bot",
            tokenCiphertext: try cipher.seal(
                "424243:AAoutage-token-0123456789abcdef", context: CredentialCipher.Context.telegramToken))
        try await accounts.setWebhookSecretHash(telegramAccountID: account.id, hash: WebhookSecret.hash(secret))
        let warmUp = try await app.client.send(
            .POST, "\(app.baseURL)/telegram/\(account.id)/webhook",
            headers: [("X-Telegram-Bot-Api-Secret-Token", secret)],
            body: Array(#"{"update_id":1,"poll":{"id":"p"}}"#.utf8))
        #expect(warmUp.status == 200)
        return account.id
    }
}
