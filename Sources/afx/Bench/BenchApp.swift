import Forwarding
import Foundation
import Gateway
import Logging
import PostgresNIO
import ServiceLifecycle
import Store
import TelegramBotAPI

/// The gateway started in-process for a benchmark: a fresh database, development certificates,
/// HTTPS on a free port.
struct BenchApp {
    let app: AFXApplication
    let port: Int
    let caPath: String

    static func certificates() async throws -> (ca: String, cert: String, key: String) {
        let directory = ".data/bench-certs"
        if !FileManager.default.fileExists(atPath: "\(directory)/server.crt") {
            _ = try await BenchDatabase.shell(["scripts/gen-certs", directory])
        }
        return ("\(directory)/ca.crt", "\(directory)/server.crt", "\(directory)/server.key")
    }

    static func config(database: DatabaseURL, configure: (inout AppConfig) -> Void) async throws -> AppConfig {
        let certificates = try await certificates()
        var config = AppConfig()
        config.environment = .development
        config.logLevel = .warning
        config.server.host = "127.0.0.1"
        config.server.port = 0
        config.server.certificatePath = certificates.cert
        config.server.privateKeyPath = certificates.key
        config.database.url = database
        config.database.poolSize = 40
        config.secrets.encryptionKey = Secret((0..<32).map { _ in UInt8.random(in: 0...255) })
        config.secrets.jwtSecret = Secret(String(repeating: "b", count: 48))
        configure(&config)
        return config
    }

    /// Runs the app around `body`, then shuts it down.
    static func run<T: Sendable>(_ config: AppConfig, _ body: (BenchApp) async throws -> T) async throws -> T {
        // The handler afx serve uses, so the figures include its cost.
        var logger = Logging.bootstrap(level: .warning)
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try buildApplication(config, logger: logger) { continuation.yield($0) }
        let group = app.serviceGroup()
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw BenchError("the gateway did not start") }
            let result = try await body(BenchApp(app: app, port: port, caPath: try await certificates().ca))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// A user with a linked Telegram bot whose webhook secret is `secret`; returns the account id.
    static func seedTelegramBot(
        client: PostgresClient, cipher: CredentialCipher, token: String, botUserID: Int64, secret: String,
        plan: String = "elite"
    ) async throws -> (userID: Int64, accountID: Int64) {
        let user = try await UserRepository(client: client).create(
            email: "bench-\(UUID().uuidString.prefix(8))@example.com", plan: plan)
        let accounts = AccountRepository(client: client)
        let account = try await accounts.createTelegram(
            userID: user.id, botUserID: botUserID, username: "bench_bot_\(botUserID)",
            tokenCiphertext: try cipher.seal(token, context: CredentialCipher.Context.telegramToken))
        try await accounts.setWebhookSecretHash(telegramAccountID: account.id, hash: WebhookSecret.hash(secret))
        return (user.id, account.id)
    }
}
