import Logging

/// Every setting `afx` reads, with its default as written in `config/afx.yaml`. The loader, the
/// unknown-key check and `afx config check` all walk this one table.
struct Setting: Sendable {
    enum Kind: Sendable {
        case scalar
        /// A YAML sequence, or a comma-separated environment variable.
        case list
    }

    let key: String
    let defaultValue: String
    var kind: Kind = .scalar
    let apply: @Sendable (inout AppConfig, String) throws(ConfigValue.Invalid) -> Void
}

/// Secrets come only from `AFX_<KEY>` or a file named by `AFX_<KEY>_FILE`, never from YAML.
struct SecretSetting: Sendable {
    let key: String
    /// Whether start-up in production refuses to go on without it.
    let requiredInProduction: Bool
    let apply: @Sendable (inout AppConfig, String) throws(ConfigValue.Invalid) -> Void
}

enum Settings {
    static let all: [Setting] = [
        Setting(key: "environment", defaultValue: "production") { config, text throws(ConfigValue.Invalid) in
            config.environment = try ConfigValue.oneOf(text, AppConfig.Environment.allCases)
        },
        Setting(key: "instanceName", defaultValue: "afx") { config, text throws(ConfigValue.Invalid) in
            guard text.range(of: "^[A-Za-z0-9._-]{1,40}$", options: .regularExpression) != nil else {
                throw ConfigValue.Invalid(expected: "expected 1 to 40 letters, digits, '.', '_' or '-'")
            }
            config.instanceName = text
        },
        Setting(key: "log.level", defaultValue: "info") { config, text throws(ConfigValue.Invalid) in
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigValue.Invalid(expected: "expected trace, debug, info, notice, warning, error or critical")
            }
            config.logLevel = level
        },
        Setting(key: "server.host", defaultValue: "0.0.0.0") { config, text throws(ConfigValue.Invalid) in
            guard !text.isEmpty else { throw ConfigValue.Invalid(expected: "expected a host name or IP address") }
            config.server.host = text
        },
        Setting(key: "server.port", defaultValue: "8443") { config, text throws(ConfigValue.Invalid) in
            config.server.port = try ConfigValue.int(text, in: 0...65535)
        },
        Setting(key: "server.plainHttp", defaultValue: "false") { config, text throws(ConfigValue.Invalid) in
            config.server.plainHTTP = try ConfigValue.bool(text)
        },
        Setting(key: "server.certificate", defaultValue: "certs/server.crt") {
            config, text throws(ConfigValue.Invalid) in
            config.server.certificatePath = text
        },
        Setting(key: "server.privateKey", defaultValue: "certs/server.key") {
            config, text throws(ConfigValue.Invalid) in
            config.server.privateKeyPath = text
        },
        Setting(key: "server.trustedProxies", defaultValue: "", kind: .list) {
            config, text throws(ConfigValue.Invalid) in
            config.server.trustedProxies = try ConfigValue.networks(text.split(separator: ",").map(String.init))
        },
        Setting(key: "server.publicUrl", defaultValue: "") { config, text throws(ConfigValue.Invalid) in
            guard text.isEmpty || text.hasPrefix("https://") || text.hasPrefix("http://") else {
                throw ConfigValue.Invalid(expected: "expected an absolute URL such as https://afx.example.com")
            }
            config.server.publicURL = text.isEmpty ? nil : String(text.trimmingSuffix("/"))
        },
        Setting(key: "server.shutdownTimeout", defaultValue: "10s") { config, text throws(ConfigValue.Invalid) in
            config.server.shutdownTimeout = try ConfigValue.duration(text, in: .milliseconds(100) ... .seconds(600))
        },
        Setting(key: "server.debugRoutes", defaultValue: "false") { config, text throws(ConfigValue.Invalid) in
            config.server.debugRoutes = try ConfigValue.bool(text)
        },
        Setting(key: "server.bodyLimit.default", defaultValue: "1MiB") { config, text throws(ConfigValue.Invalid) in
            config.server.bodyLimits.default = try ConfigValue.byteSize(text, in: 1024...(256 << 20))
        },
        Setting(key: "server.bodyLimit.webhooks", defaultValue: "1MiB") { config, text throws(ConfigValue.Invalid) in
            config.server.bodyLimits.webhooks = try ConfigValue.byteSize(text, in: 1024...(256 << 20))
        },
        Setting(key: "server.bodyLimit.api", defaultValue: "1MiB") { config, text throws(ConfigValue.Invalid) in
            config.server.bodyLimits.api = try ConfigValue.byteSize(text, in: 1024...(256 << 20))
        },
        Setting(key: "database.poolSize", defaultValue: "20") { config, text throws(ConfigValue.Invalid) in
            config.database.poolSize = try ConfigValue.int(text, in: 2...500)
        },
        Setting(key: "database.connectTimeout", defaultValue: "5s") { config, text throws(ConfigValue.Invalid) in
            config.database.connectTimeout = try ConfigValue.duration(text, in: .milliseconds(100) ... .seconds(120))
        },
        Setting(key: "database.requestTimeout", defaultValue: "5s") { config, text throws(ConfigValue.Invalid) in
            config.database.requestTimeout = try ConfigValue.duration(text, in: .milliseconds(50) ... .seconds(120))
        },
        Setting(key: "jobs.enabled", defaultValue: "true") { config, text throws(ConfigValue.Invalid) in
            config.jobs.enabled = try ConfigValue.bool(text)
        },
        Setting(key: "jobs.concurrency", defaultValue: "32") { config, text throws(ConfigValue.Invalid) in
            config.jobs.concurrency = try ConfigValue.int(text, in: 1...4096)
        },
        Setting(key: "jobs.fetchers", defaultValue: "1") { config, text throws(ConfigValue.Invalid) in
            config.jobs.fetchers = try ConfigValue.int(text, in: 1...32)
        },
        Setting(key: "jobs.lease", defaultValue: "30s") { config, text throws(ConfigValue.Invalid) in
            config.jobs.lease = try ConfigValue.duration(text, in: .milliseconds(500) ... .seconds(3600))
        },
        Setting(key: "jobs.pollInterval", defaultValue: "1s") { config, text throws(ConfigValue.Invalid) in
            config.jobs.pollInterval = try ConfigValue.duration(text, in: .milliseconds(10) ... .seconds(60))
        },
        Setting(key: "jobs.laneWeights", defaultValue: "high=6,medium=3,low=1") {
            config, text throws(ConfigValue.Invalid) in
            config.jobs.laneWeights = try ConfigValue.laneWeights(text)
        },
        Setting(key: "jobs.retention", defaultValue: "0s") { config, text throws(ConfigValue.Invalid) in
            config.jobs.retention = try ConfigValue.duration(text, in: .zero ... .seconds(90 * 86400))
        },
        Setting(key: "jobs.discardedRetention", defaultValue: "7d") { config, text throws(ConfigValue.Invalid) in
            config.jobs.discardedRetention = try ConfigValue.duration(text, in: .seconds(1) ... .seconds(365 * 86400))
        },
        Setting(key: "platforms.telegram.apiUrl", defaultValue: "https://api.telegram.org") {
            config, text throws(ConfigValue.Invalid) in
            config.platforms.telegramAPIURL = try ConfigValue.url(text)
        },
        Setting(key: "platforms.telegram.fileUrl", defaultValue: "") { config, text throws(ConfigValue.Invalid) in
            config.platforms.telegramFileURL = text.isEmpty ? nil : try ConfigValue.url(text)
        },
        Setting(key: "platforms.telegram.chatPerSecond", defaultValue: "1") {
            config, text throws(ConfigValue.Invalid) in
            config.platforms.telegramChatPerSecond = try ConfigValue.rate(text)
        },
        Setting(key: "platforms.telegram.groupPerMinute", defaultValue: "20") {
            config, text throws(ConfigValue.Invalid) in
            config.platforms.telegramGroupPerMinute = try ConfigValue.rate(text)
        },
        Setting(key: "platforms.telegram.botPerSecond", defaultValue: "30") {
            config, text throws(ConfigValue.Invalid) in
            config.platforms.telegramBotPerSecond = try ConfigValue.rate(text)
        },
        Setting(key: "platforms.discord.apiUrl", defaultValue: "https://discord.com/api/v10") {
            config, text throws(ConfigValue.Invalid) in
            config.platforms.discordAPIURL = try ConfigValue.url(text)
        },
        Setting(key: "platforms.discord.globalPerSecond", defaultValue: "50") {
            config, text throws(ConfigValue.Invalid) in
            config.platforms.discordGlobalPerSecond = try ConfigValue.int(text, in: 1...100_000)
        },
        Setting(key: "platforms.discord.maxUploadBytes", defaultValue: "10MiB") {
            config, text throws(ConfigValue.Invalid) in
            config.platforms.discordMaxUploadBytes = try ConfigValue.byteSize(text, in: 1024...(500 << 20))
        },
        Setting(key: "discord.gateway.enabled", defaultValue: "true") { config, text throws(ConfigValue.Invalid) in
            config.discord.gatewayEnabled = try ConfigValue.bool(text)
        },
        Setting(key: "discord.gateway.lease", defaultValue: "30s") { config, text throws(ConfigValue.Invalid) in
            config.discord.gatewayLease = try ConfigValue.duration(text, in: .seconds(1) ... .seconds(600))
        },
        Setting(key: "discord.gateway.identifyInterval", defaultValue: "5s") {
            config, text throws(ConfigValue.Invalid) in
            config.discord.identifyInterval = try ConfigValue.duration(text, in: .zero ... .seconds(60))
        },
        Setting(key: "discord.gateway.reconnectBase", defaultValue: "1s") { config, text throws(ConfigValue.Invalid) in
            config.discord.reconnectBase = try ConfigValue.duration(text, in: .milliseconds(10) ... .seconds(60))
        },
        Setting(key: "discord.interactions.maxAge", defaultValue: "5m") { config, text throws(ConfigValue.Invalid) in
            config.discord.interactionMaxAge = try ConfigValue.duration(text, in: .seconds(5) ... .seconds(3600))
        },
        Setting(key: "plans.file", defaultValue: "config/plans.yaml") { config, text throws(ConfigValue.Invalid) in
            guard !text.isEmpty else { throw ConfigValue.Invalid(expected: "expected the path of a plans YAML file") }
            config.plansFile = text
        },
        Setting(key: "auth.accessTokenTtl", defaultValue: "15m") { config, text throws(ConfigValue.Invalid) in
            config.auth.accessTokenTTL = try ConfigValue.duration(text, in: .seconds(10) ... .seconds(86400))
        },
        Setting(key: "auth.refreshTokenTtl", defaultValue: "30d") { config, text throws(ConfigValue.Invalid) in
            config.auth.refreshTokenTTL = try ConfigValue.duration(text, in: .seconds(60) ... .seconds(365 * 86400))
        },
        Setting(key: "auth.bcryptCost", defaultValue: "12") { config, text throws(ConfigValue.Invalid) in
            config.auth.bcryptCost = try ConfigValue.int(text, in: 4...16)
        },
        Setting(key: "auth.signInPerMinute", defaultValue: "10") { config, text throws(ConfigValue.Invalid) in
            config.auth.signInPerMinute = try ConfigValue.int(text, in: 1...100_000)
        },
        Setting(key: "analytics.rollupInterval", defaultValue: "30s") { config, text throws(ConfigValue.Invalid) in
            config.analytics.rollupInterval = try ConfigValue.duration(text, in: .milliseconds(10) ... .seconds(3600))
        },
        Setting(key: "analytics.settle", defaultValue: "10s") { config, text throws(ConfigValue.Invalid) in
            config.analytics.settle = try ConfigValue.duration(text, in: .zero ... .seconds(3600))
        },
        Setting(key: "analytics.logRetention", defaultValue: "30d") { config, text throws(ConfigValue.Invalid) in
            config.analytics.logRetention = try ConfigValue.duration(
                text, in: .seconds(86400) ... .seconds(3650 * 86400))
        },
        Setting(key: "admin.allowedNetworks", defaultValue: "127.0.0.1/32,::1/128", kind: .list) {
            config, text throws(ConfigValue.Invalid) in
            config.admin.allowedNetworks = try ConfigValue.networks(text.split(separator: ",").map(String.init))
        },
        Setting(key: "platforms.albumWindow", defaultValue: "1500ms") { config, text throws(ConfigValue.Invalid) in
            config.platforms.albumWindow = try ConfigValue.duration(text, in: .milliseconds(100) ... .seconds(30))
        },
        Setting(key: "platforms.requestTimeout", defaultValue: "20s") { config, text throws(ConfigValue.Invalid) in
            config.platforms.requestTimeout = try ConfigValue.duration(text, in: .seconds(1) ... .seconds(300))
        },
        // At least two days: longer than a pair's longest delay (a day) and its deliveries' retries.
        Setting(key: "platforms.inboundRetention", defaultValue: "7d") { config, text throws(ConfigValue.Invalid) in
            config.platforms.inboundRetention = try ConfigValue.duration(
                text, in: .seconds(2 * 86400) ... .seconds(365 * 86400))
        },
        // At least two days, like inboundRetention: a delayed pair's edit still finds its copies.
        Setting(key: "platforms.linkRetention", defaultValue: "90d") { config, text throws(ConfigValue.Invalid) in
            config.platforms.linkRetention = try ConfigValue.duration(
                text, in: .seconds(2 * 86400) ... .seconds(3650 * 86400))
        },
    ]

    static let secrets: [SecretSetting] = [
        SecretSetting(key: "database.password", requiredInProduction: false) {
            config, text throws(ConfigValue.Invalid) in
            config.database.url?.password = text
        },
        SecretSetting(key: "encryptionKey", requiredInProduction: true) { config, text throws(ConfigValue.Invalid) in
            guard let bytes = Base64.decode(text), bytes.count == 32 else {
                throw ConfigValue.Invalid(
                    expected: "expected 32 random bytes in base64 (generate one with: openssl rand -base64 32)")
            }
            config.secrets.encryptionKey = Secret(bytes)
        },
        SecretSetting(key: "jwtSecret", requiredInProduction: true) { config, text throws(ConfigValue.Invalid) in
            guard text.utf8.count >= 32 else {
                throw ConfigValue.Invalid(
                    expected: "expected at least 32 characters (generate one with: openssl rand -base64 48)")
            }
            config.secrets.jwtSecret = Secret(text)
        },
    ]

    /// Keys that are not settings but must not be flagged as unknown.
    static let databaseURLKey = "database.url"
}

extension String {
    func trimmingSuffix(_ suffix: String) -> Substring {
        var out = Substring(self)
        while out.hasSuffix(suffix) { out = out.dropLast(suffix.count) }
        return out
    }
}
