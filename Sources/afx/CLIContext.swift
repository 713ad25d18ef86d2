import ArgumentParser
import Foundation
import Gateway
import Logging
import PostgresNIO
import Store

/// What the account and pair commands need: the database, the credential cipher and the
/// platform clients, set up from the configuration and torn down after.
struct CLIContext: Sendable {
    let config: AppConfig
    let client: PostgresClient
    let cipher: CredentialCipher
    let platforms: PlatformClients
    let logger: Logger

    var accounts: AccountRepository { AccountRepository(client: client) }
    var pairs: PairRepository { PairRepository(client: client) }
    var users: UserRepository { UserRepository(client: client) }
    var linking: AccountLinking { AccountLinking(client: client, cipher: cipher, platforms: platforms) }

    static func with(
        _ options: ConfigOptions, configure: (inout AppConfig) -> Void = { _ in },
        _ body: (CLIContext) async throws -> Void
    ) async throws {
        var config = try await options.load().config
        configure(&config)
        let logger = Logging.bootstrap(level: .warning)
        guard let url = config.database.url else {
            throw Logging.fail("configuration error: database.url (DATABASE_URL): no database configured", code: 78)
        }
        guard let key = config.secrets.encryptionKey else {
            throw Logging.fail("configuration error: encryptionKey (AFX_ENCRYPTION_KEY): required", code: 78)
        }
        let client = PostgresClient(configuration: url.clientConfiguration(applicationName: "afx-cli"))
        let platforms = PlatformClients(config.platforms)
        let context = CLIContext(
            config: config, client: client, cipher: CredentialCipher(key: key.value), platforms: platforms,
            logger: logger)
        do {
            try await withRunningClient(client) {
                do {
                    try await body(context)
                } catch let error as StoreError {
                    throw Logging.fail(error.description)
                } catch let error as CredentialError {
                    throw Logging.fail(error.description)
                } catch let error as LinkingError {
                    throw Logging.fail(error.description)
                }
            }
        } catch {
            try? await platforms.http.shutdown()
            throw error
        }
        try await platforms.http.shutdown()
    }
}

/// Reads a secret from a file, or from standard input when the path is "-": never from the
/// command line, where it would be visible in the process list and shell history.
func readSecret(path: String, what: String) throws -> String {
    let text: String
    if path == "-" {
        var lines: [String] = []
        while let line = readLine() { lines.append(line) }
        text = lines.joined(separator: "\n")
    } else {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the \(what) from \(path)")
        }
        text = contents
    }
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else { throw ValidationError("the \(what) in \(path) is empty") }
    return trimmed
}
