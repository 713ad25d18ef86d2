import Forwarding
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import JobQueue
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Prometheus
import ServiceLifecycle
import Store
import UnixSignals

/// The whole gateway of one process: its PostgreSQL pool, background services and the HTTP
/// server, in the order they start (and the reverse order they stop).
public struct AFXApplication: Sendable {
    public let config: AppConfig
    public let postgres: PostgresClient
    public let jobQueue: JobQueue
    public let forwarding: ForwardingRuntime
    /// Linking bots and webhooks to users, with this application's cipher and platform clients.
    public let linking: AccountLinking
    /// The REST API's repositories, tokens and plan gate.
    public let api: APIServices
    /// nil when `jobs.enabled` is off.
    public let workers: WorkerPool?
    /// nil when `discord.gateway.enabled` is off.
    let discordGateway: DiscordGatewayService?
    public let registry: PrometheusCollectorRegistry
    public let logger: Logger
    /// Everything long-running, HTTP server last so it is the first to stop.
    public let services: [any Service]

    /// Runs every service until SIGTERM/SIGINT (or the task is cancelled), then drains the HTTP
    /// server, the workers and the pool within `server.shutdownTimeout`.
    /// A listening address another process holds is a `ConfigurationError` naming server.port.
    public func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        do {
            try await serviceGroup(gracefulShutdownSignals: gracefulShutdownSignals).run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ConfigurationError(
                key: "server.port", "\(config.server.host):\(config.server.port) is already in use by another process")
        }
    }

    public func serviceGroup(gracefulShutdownSignals: [UnixSignal] = []) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: gracefulShutdownSignals,
            logger: logger)
        configuration.maximumGracefulShutdownDuration = config.server.shutdownTimeout
        configuration.maximumCancellationDuration = .seconds(2)
        return ServiceGroup(configuration: configuration)
    }
}

/// The composition root shared by `afx serve` and the tests.
/// - Parameters:
///   - serveHTTP: false for a worker-only process (`afx work`).
///   - onServerRunning: called with the bound port once the listener is up (tests pass port 0).
public func buildApplication(
    _ config: AppConfig, logger: Logger, serveHTTP: Bool = true,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> AFXApplication {
    guard let databaseURL = config.database.url else {
        throw ConfigurationError(key: "database.url", "no database configured; set DATABASE_URL")
    }
    let applicationName = "afx:\(config.instanceName):\(ProcessInfo.processInfo.processIdentifier)"
    var postgresConfiguration = databaseURL.clientConfiguration(applicationName: applicationName)
    postgresConfiguration.options.maximumConnections = config.database.poolSize
    postgresConfiguration.options.connectTimeout = config.database.connectTimeout
    var postgresLogger = logger
    postgresLogger[metadataKey: "component"] = "postgres"
    let postgres = PostgresClient(configuration: postgresConfiguration, backgroundLogger: postgresLogger)
    // The claim loops get connections of their own, which always run the claim's generic plan.
    let claimConfiguration = JobQueue.claimPoolConfiguration(postgresConfiguration, fetchers: config.jobs.fetchers)
    let claimPostgres = PostgresClient(configuration: claimConfiguration, backgroundLogger: postgresLogger)

    let registry = PrometheusCollectorRegistry()
    let migrator = Migrator()
    var jobLogger = logger
    jobLogger[metadataKey: "component"] = "jobs"
    var queueConfiguration = JobQueue.Configuration()
    queueConfiguration.keepCompletedJobs = config.jobs.retention > .zero
    let jobQueue = JobQueue(
        client: postgres, claimClient: claimPostgres, configuration: queueConfiguration, logger: jobLogger)
    guard let encryptionKey = config.secrets.encryptionKey else {
        throw ConfigurationError(key: "encryptionKey", "required: set AFX_ENCRYPTION_KEY or AFX_ENCRYPTION_KEY_FILE")
    }
    let plans = try PlanLoader.load(path: config.plansFile)
    var eventsLogger = logger
    eventsLogger[metadataKey: "component"] = "events"
    let events = LiveEvents(client: postgres, logger: eventsLogger)
    let platforms = PlatformClients(config.platforms)
    let cipher = CredentialCipher(key: encryptionKey.value)
    let accounts = AccountDirectory(repository: AccountRepository(client: postgres), cipher: cipher)
    let pairRepository = PairRepository(client: postgres)
    let pairs = PairDirectory(repository: pairRepository)
    let deliveries = DeliveryRepository(client: postgres)
    let recorder = DeliveryRecorder(repository: deliveries)
    let forwarding = ForwardingRuntime(
        client: postgres, queue: jobQueue, accounts: accounts, pairs: pairs, pairRepository: pairRepository,
        deliveries: deliveries, recorder: recorder, platforms: platforms, scheduler: SendScheduler(),
        configuration: config.platforms, gate: PlanGate(catalog: plans), events: events)
    let ingest = InboundIngest(
        client: postgres, queue: jobQueue, timeout: config.database.requestTimeout,
        routing: InlineRouting(runtime: forwarding), logger: logger)
    let workers =
        config.jobs.enabled
        ? WorkerPool(
            queue: jobQueue, registry: .standard(forwarding: forwarding),
            configuration: .init(config.jobs, shutdownTimeout: config.server.shutdownTimeout),
            logger: jobLogger, observer: JobMetrics(registry: registry))
        : nil
    let readiness = [
        ReadinessCheck.database(postgres, migrator: migrator, timeout: .seconds(2), logger: logger),
        ReadinessCheck.jobQueue(jobQueue, timeout: .seconds(2)),
    ]
    let samplers = [
        MetricsSampler.databasePool(
            postgres, applicationName: applicationName,
            maxConnections: config.database.poolSize
                + (config.jobs.enabled ? claimConfiguration.options.maximumConnections : 0)),
        MetricsSampler.jobQueue(jobQueue),
    ]

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    let root = router.group().add(middleware: BodyLimitMiddleware(limit: config.server.bodyLimits.default))
    HealthController(readiness: readiness, samplers: samplers, registry: registry).addRoutes(to: router)
    if config.server.debugRoutes {
        DebugController().addRoutes(to: root)
    }
    let webhooks = router.group().add(middleware: BodyLimitMiddleware(limit: config.server.bodyLimits.webhooks))
    TelegramWebhookController(accounts: accounts, ingest: ingest, requestTimeout: config.database.requestTimeout)
        .addRoutes(to: webhooks)
    let accountRepository = AccountRepository(client: postgres)
    DiscordInteractionsController(
        runtime: forwarding, accountRepository: accountRepository, maxAge: config.discord.interactionMaxAge,
        requestTimeout: config.database.requestTimeout
    ).addRoutes(to: webhooks)

    let jwtSecret: String
    if let secret = config.secrets.jwtSecret {
        jwtSecret = secret.value
    } else if config.environment == .development {
        jwtSecret = OpaqueToken.generate()
    } else {
        throw ConfigurationError(key: "jwtSecret", "required: set AFX_JWT_SECRET or AFX_JWT_SECRET_FILE")
    }
    let sessions = SessionRepository(client: postgres, logger: logger)
    let api = APIServices(
        users: UserRepository(client: postgres), sessions: sessions, keys: APIKeyRepository(client: postgres),
        pairs: pairRepository, accounts: accountRepository, gate: forwarding.gate,
        tokens: SessionTokens(
            secret: jwtSecret, sessions: sessions, accessTTL: config.auth.accessTokenTTL,
            refreshTTL: config.auth.refreshTokenTTL),
        hasher: PasswordHasher(cost: UInt8(config.auth.bcryptCost)),
        limiter: RateLimiter(repository: RateLimitRepository(client: postgres)), events: events,
        configuration: config)
    let linking = AccountLinking(client: postgres, cipher: cipher, platforms: platforms)
    V1Routes.add(to: router, api: api, linking: linking, queue: jobQueue, client: postgres)

    let responder = GatewayResponder(
        inner: router.buildResponder(), metrics: HTTPMetrics(registry: registry),
        trustedProxies: config.server.trustedProxies, honorForwardedFor: config.server.plainHTTP)
    let http1: HTTPServerBuilder =
        serveHTTP ? .http1WebSocketUpgrade(webSocketRouter: EventsRoute.router(api: api, events: events)) : .http1()
    let server: HTTPServerBuilder =
        config.server.plainHTTP || !serveHTTP
        ? http1 : try .tls(http1, tlsConfiguration: loadTLSConfiguration(config.server))
    var httpLogger = logger
    httpLogger[metadataKey: "component"] = "http"
    let http = Application(
        responder: responder, server: server,
        configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: nil),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.server.port) },
        logger: httpLogger)

    let discordGateway =
        config.discord.gatewayEnabled
        ? DiscordGatewayService(
            runtime: forwarding, ingest: ingest, leases: GatewaySessionRepository(client: postgres),
            accountRepository: accountRepository, configuration: config.discord,
            owner:
                "\(config.instanceName)@\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):"
                + UUID().uuidString.prefix(8),
            logger: logger) : nil

    var services: [any Service] = [
        // Stopped after the workers (services stop in reverse order): draining jobs record here.
        postgres, claimPostgres, platforms, jobQueue, ingest, recorder, events,
        ChangeListener(client: postgres, accounts: accounts, pairs: pairs, logger: logger),
    ]
    if let discordGateway { services.append(discordGateway) }
    if let workers {
        services.append(workers)
        services.append(
            AnalyticsRollup(
                repository: AnalyticsRepository(client: postgres, logger: jobLogger),
                interval: config.analytics.rollupInterval, settle: config.analytics.settle, logger: jobLogger))
        services.append(
            JobPruner(
                queue: jobQueue, retention: config.jobs.retention, discardedRetention: config.jobs.discardedRetention,
                logger: jobLogger))
        services.append(
            Retention(
                client: postgres,
                periods: .init(
                    inbound: config.platforms.inboundRetention, links: config.platforms.linkRetention,
                    logs: config.analytics.logRetention),
                logger: jobLogger))
    }
    if serveHTTP { services.append(http) }
    return AFXApplication(
        config: config, postgres: postgres, jobQueue: jobQueue, forwarding: forwarding,
        linking: linking, api: api, workers: workers,
        discordGateway: discordGateway,
        registry: registry, logger: logger,
        services: services)
}

func loadTLSConfiguration(_ server: AppConfig.Server) throws -> TLSConfiguration {
    let chain: [NIOSSLCertificate]
    do {
        chain = try NIOSSLCertificate.fromPEMFile(server.certificatePath)
    } catch {
        throw ConfigurationError(
            key: "server.certificate",
            "cannot read a PEM certificate from \(server.certificatePath) (scripts/run generates a development one)")
    }
    let key: NIOSSLPrivateKey
    do {
        key = try NIOSSLPrivateKey(file: server.privateKeyPath, format: .pem)
    } catch {
        throw ConfigurationError(
            key: "server.privateKey", "cannot read a PEM private key from \(server.privateKeyPath)")
    }
    var tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    tls.minimumTLSVersion = .tlsv12
    return tls
}

extension WorkerPool.Configuration {
    init(_ jobs: AppConfig.Jobs, shutdownTimeout: Duration) {
        self.init()
        concurrency = jobs.concurrency
        fetchers = jobs.fetchers
        lease = jobs.lease
        pollInterval = jobs.pollInterval
        laneWeights = jobs.laneWeights
        // Hand unfinished jobs back before the service group's own deadline cancels us.
        drainTimeout = shutdownTimeout * 0.7
    }
}
