import Foundation
import TestSupport
import Testing

@testable import Gateway

@Suite struct ConfigLoaderTests {
    let secrets = [
        "AFX_ENCRYPTION_KEY": Data(repeating: 1, count: 32).base64EncodedString(),
        "AFX_JWT_SECRET": String(repeating: "s", count: 40),
    ]

    func load(_ environment: [String: String], yaml: String? = nil) async throws(ConfigurationError)
        -> ConfigLoader.Result
    {
        var path: String?
        if let yaml {
            let directory = try! RepoPaths.scratchDirectory("config")
            path = directory.appendingPathComponent("afx.yaml").path
            try! yaml.write(toFile: path!, atomically: true, encoding: .utf8)
        }
        return try await ConfigLoader(environment: environment, filePath: path, defaultFilePath: nil).load()
    }

    func error(_ environment: [String: String], yaml: String? = nil) async -> ConfigurationError? {
        do {
            _ = try await load(environment, yaml: yaml)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsApplyWhenNothingIsSet() async throws {
        let config = try await load(secrets).config
        #expect(config.server.port == 8443)
        #expect(config.server.bodyLimits.default == 1 << 20)
        #expect(config.server.shutdownTimeout == .seconds(10))
        #expect(config.environment == .production)
        #expect(config.jobs.laneWeights == [6, 3, 1])
    }

    @Test func theRepositoryConfigFileLoadsAndMatchesTheDefaults() async throws {
        let loaded = try await ConfigLoader(environment: secrets, filePath: RepoPaths.path("config/afx.yaml")).load()
        for setting in Settings.all {
            let entry = try #require(loaded.entries.first { $0.key == setting.key })
            #expect(entry.source == .file, "config/afx.yaml does not document \(setting.key)")
            #expect(
                entry.value == setting.defaultValue || (entry.value.isEmpty && setting.defaultValue.isEmpty),
                "config/afx.yaml gives \(setting.key) = \(entry.value), the default is \(setting.defaultValue)")
        }
    }

    @Test func environmentOverridesTheFile() async throws {
        var environment = secrets
        environment["AFX_SERVER_PORT"] = "9443"
        environment["AFX_SERVER_BODY_LIMIT_WEBHOOKS"] = "64KiB"
        environment["AFX_SERVER_TRUSTED_PROXIES"] = "10.0.0.0/8,::1"
        let loaded = try await load(environment, yaml: "server:\n  port: 7000\n  host: 127.0.0.1\n")
        #expect(loaded.config.server.port == 9443)
        #expect(loaded.config.server.host == "127.0.0.1")
        #expect(loaded.config.server.bodyLimits.webhooks == 65536)
        #expect(loaded.config.server.trustedProxies.count == 2)
        #expect(loaded.entries.first { $0.key == "server.port" }?.source == .environment)
        #expect(loaded.entries.first { $0.key == "server.host" }?.source == .file)
    }

    @Test(arguments: [
        (
            "AFX_SERVER_PORT", "eighty",
            "server.port (AFX_SERVER_PORT): expected an integer from 0 to 65535, got \"eighty\""
        ),
        (
            "AFX_SERVER_PORT", "70000",
            "server.port (AFX_SERVER_PORT): expected an integer from 0 to 65535, got \"70000\""
        ),
        (
            "AFX_SERVER_SHUTDOWN_TIMEOUT", "soon",
            "server.shutdownTimeout (AFX_SERVER_SHUTDOWN_TIMEOUT): expected a duration"
        ),
        (
            "AFX_SERVER_BODY_LIMIT_DEFAULT", "1 ton",
            "server.bodyLimit.default (AFX_SERVER_BODY_LIMIT_DEFAULT): expected a size"
        ),
        (
            "AFX_SERVER_TRUSTED_PROXIES", "10.0.0.0/33",
            "server.trustedProxies (AFX_SERVER_TRUSTED_PROXIES): \"10.0.0.0/33\" is not an IP address"
        ),
        ("AFX_LOG_LEVEL", "loud", "log.level (AFX_LOG_LEVEL): expected trace, debug"),
        ("AFX_JOBS_LANE_WEIGHTS", "high=1", "jobs.laneWeights (AFX_JOBS_LANE_WEIGHTS): expected weights"),
        ("DATABASE_URL", "mysql://x@y/z", "database.url (AFX_DATABASE_URL): expected postgres://"),
        ("AFX_ENCRYPTION_KEY", "c2hvcnQ=", "encryptionKey (AFX_ENCRYPTION_KEY): expected 32 random bytes in base64"),
    ])
    func malformedSettingsNameTheKeyAndWhatIsExpected(name: String, value: String, message: String) async {
        var environment = secrets
        environment[name] = value
        let error = await error(environment)
        #expect(error?.description.contains(message) == true, "got: \(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    @Test func aMalformedSecretIsNeverEchoed() async {
        var environment = secrets
        environment["AFX_JWT_SECRET"] = "hunter2-too-short"
        let error = await error(environment)
        #expect(error?.key == "jwtSecret")
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test func productionRefusesToStartWithoutSecrets() async {
        let error = await error([:])
        #expect(
            error?.description
                == "configuration error: encryptionKey (AFX_ENCRYPTION_KEY): required in production; set AFX_ENCRYPTION_KEY or AFX_ENCRYPTION_KEY_FILE"
        )
    }

    @Test func developmentMakesEphemeralSecretsAndSaysSo() async throws {
        let loaded = try await load(["AFX_ENVIRONMENT": "development"])
        #expect(loaded.config.secrets.encryptionKey?.value.count == 32)
        #expect(loaded.warnings.contains { $0.contains("AFX_ENCRYPTION_KEY is not set") })
    }

    @Test func secretsComeFromFilesNamedInTheEnvironment() async throws {
        let directory = try RepoPaths.scratchDirectory("secret")
        let file = directory.appendingPathComponent("jwt").path
        try (String(repeating: "f", count: 48) + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        var environment = secrets
        environment["AFX_JWT_SECRET"] = nil
        environment["AFX_JWT_SECRET_FILE"] = file
        let loaded = try await load(environment)
        #expect(loaded.config.secrets.jwtSecret?.value == String(repeating: "f", count: 48))
        #expect(loaded.entries.first { $0.key == "jwtSecret" }?.value == "***")
    }

    @Test func secretsInTheFileAreRefused() async {
        let error = await error(secrets, yaml: "jwtSecret: abcdefabcdefabcdefabcdefabcdefabcdef\n")
        #expect(error?.key == "jwtSecret")
        #expect(error?.message.contains("set AFX_JWT_SECRET or AFX_JWT_SECRET_FILE") == true)
    }

    @Test func aPasswordInTheFileDatabaseURLIsRefused() async {
        let error = await error(secrets, yaml: "database:\n  url: postgres://afx:pw@localhost/afx\n")
        #expect(error?.key == "database.url")
        #expect(error?.description.contains("pw") == false)
    }

    @Test func unknownKeysInTheFileAreRefused() async {
        let error = await error(secrets, yaml: "server:\n  prot: 8080\n")
        #expect(error?.key == "server.prot")
        #expect(error?.message.contains("unknown setting") == true)
    }

    @Test func aListWhereAValueBelongsIsRefused() async {
        let error = await error(secrets, yaml: "server:\n  port: [1, 2]\n")
        #expect(error?.key == "server.port")
    }

    @Test func invalidYAMLIsOneLine() async {
        let error = await error(secrets, yaml: "server: [unclosed\n")
        #expect(error?.key == "config")
        #expect(error?.description.contains("is not valid YAML") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func anExplicitConfigFileMustExist() async {
        do {
            _ = try await ConfigLoader(environment: secrets, filePath: "/no/such/afx.yaml").load()
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("/no/such/afx.yaml does not exist"))
        }
    }

    @Test func databaseURLPasswordIsMasked() async throws {
        var environment = secrets
        environment["DATABASE_URL"] = "postgres://afx:s3cr3t@db.example:6543/afx"
        let loaded = try await load(environment)
        #expect(loaded.config.database.url?.password == "s3cr3t")
        #expect(loaded.config.database.url?.port == 6543)
        let entry = try #require(loaded.entries.first { $0.key == "database.url" })
        #expect(!entry.value.contains("s3cr3t"))
    }
}
