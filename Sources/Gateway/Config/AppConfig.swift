import Logging
import Store

/// The effective configuration of one `afx` process. Built by `ConfigLoader` from
/// `config/afx.yaml`, `AFX_*` environment variables and secret files; tests build it in memory.
public struct AppConfig: Sendable {
    public enum Environment: String, Sendable, CaseIterable {
        case development, production
    }

    public struct Server: Sendable {
        public var host: String = "0.0.0.0"
        public var port: Int = 8443
        /// Plain HTTP, for running behind a TLS-terminating proxy.
        public var plainHTTP: Bool = false
        public var certificatePath: String = "certs/server.crt"
        public var privateKeyPath: String = "certs/server.key"
        /// Peers whose `X-Forwarded-For` is believed (only in plain-HTTP mode).
        public var trustedProxies: [IPNetwork] = []
        public var bodyLimits: BodyLimits = .init()
        public var shutdownTimeout: Duration = .seconds(10)
        /// The externally reachable base URL, used when registering webhooks with platforms.
        public var publicURL: String?
        public var debugRoutes: Bool = false
    }

    public struct BodyLimits: Sendable {
        public var `default`: Int = 1 << 20
        public var webhooks: Int = 1 << 20
        public var api: Int = 1 << 20
    }

    public struct Database: Sendable {
        public var url: DatabaseURL?
        /// Connections of the main pool; the claim loops have `jobs.fetchers + 2` of their own.
        public var poolSize: Int = 20
        public var connectTimeout: Duration = .seconds(5)
        /// How long a request waits for the database before answering 503.
        public var requestTimeout: Duration = .seconds(5)
    }

    public struct Jobs: Sendable {
        public var enabled: Bool = true
        public var concurrency: Int = 32
        /// One: on the 2-core machine we measure on, a second loop cost more in statements than it
        /// gained (README, Performance).
        public var fetchers: Int = 1
        public var lease: Duration = .seconds(30)
        public var pollInterval: Duration = .seconds(1)
        public var laneWeights: [Int] = [6, 3, 1]
        /// Completed jobs are kept this long; zero deletes them as they complete.
        public var retention: Duration = .zero
        public var discardedRetention: Duration = .seconds(7 * 24 * 3600)
    }

    /// Where the platforms are (configuration, so tests and `afx simulate` point at the
    /// simulators) and how hard we may push them.
    public struct Platforms: Sendable {
        public var telegramAPIURL: String = "https://api.telegram.org"
        /// nil: `<telegramAPIURL>/file`.
        public var telegramFileURL: String?
        public var discordAPIURL: String = "https://discord.com/api/v10"
        public var telegramChatPerSecond: Double = 1
        public var telegramGroupPerMinute: Double = 20
        public var telegramBotPerSecond: Double = 30
        public var discordGlobalPerSecond: Int = 50
        /// Largest file uploaded to Discord; bigger media become a line saying so.
        public var discordMaxUploadBytes: Int = 10 << 20
        /// How long album items are gathered before the album is sent as one group.
        public var albumWindow: Duration = .milliseconds(1500)
        public var requestTimeout: Duration = .seconds(20)
        /// How long received updates are kept (and a platform's retry of one recognised).
        public var inboundRetention: Duration = .seconds(7 * 86400)
        /// How long a forwarded message's copies are remembered (edits, deletions and replies of
        /// the original reach them).
        public var linkRetention: Duration = .seconds(90 * 86400)
    }

    /// Discord Gateway sessions (channel messages arrive only over them) and interactions.
    public struct Discord: Sendable {
        /// Run a Gateway session for each linked Discord bot (one instance owns each, by lease).
        public var gatewayEnabled: Bool = true
        /// A session's owner renews its lease every third of this; another instance takes the
        /// session over once it lapses.
        public var gatewayLease: Duration = .seconds(30)
        /// Identifies per bot are spaced this far apart (Discord: max_concurrency per 5 s).
        public var identifyInterval: Duration = .seconds(5)
        /// First wait before reconnecting after a failed connection (doubling to 60 s).
        public var reconnectBase: Duration = .seconds(1)
        /// Interactions signed longer ago than this are refused.
        public var interactionMaxAge: Duration = .seconds(300)
    }

    /// Sign-in and sessions.
    public struct Auth: Sendable {
        public var accessTokenTTL: Duration = .seconds(15 * 60)
        public var refreshTokenTTL: Duration = .seconds(30 * 86400)
        /// bcrypt cost (log2 rounds) for new password hashes.
        public var bcryptCost: Int = 12
        /// Sign-in attempts per minute, per client IP and per email.
        public var signInPerMinute: Int = 10
    }

    /// Hourly rollups of the delivery log for reports.
    public struct Analytics: Sendable {
        public var rollupInterval: Duration = .seconds(30)
        /// Rows younger than this wait for the next rollup (so none still committing is skipped).
        public var settle: Duration = .seconds(10)
        /// How long delivery and error log rows are kept (reports keep counting them afterwards).
        public var logRetention: Duration = .seconds(30 * 86400)
    }

    /// The admin API answers only admins connecting from these networks.
    public struct Admin: Sendable {
        public var allowedNetworks: [IPNetwork] = [IPNetwork("127.0.0.1/32")!, IPNetwork("::1/128")!]
    }

    public struct Secrets: Sendable {
        /// 32 bytes for AES-256-GCM encryption of credentials at rest.
        public var encryptionKey: Secret<[UInt8]>?
        public var jwtSecret: Secret<String>?
    }

    public var environment: Environment = .production
    public var instanceName: String = "afx"
    public var logLevel: Logger.Level = .info
    public var server = Server()
    public var database = Database()
    public var jobs = Jobs()
    public var platforms = Platforms()
    public var discord = Discord()
    public var auth = Auth()
    public var admin = Admin()
    public var analytics = Analytics()
    /// The plans catalog (`config/plans.yaml`).
    public var plansFile: String = "config/plans.yaml"
    public var secrets = Secrets()

    public init() {}
}
