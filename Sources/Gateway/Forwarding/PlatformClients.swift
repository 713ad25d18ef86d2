import AsyncHTTPClient
import DiscordAPI
import Foundation
import ServiceLifecycle
import TelegramBotAPI

/// The outbound HTTP side: one shared HTTP client and the platform clients on it. A `Service`
/// only so the HTTP client shuts down with the rest.
public final class PlatformClients: Service, Sendable {
    public let http: HTTPClient
    public let telegram: TelegramClient
    public let discord: DiscordClient

    public init(_ platforms: AppConfig.Platforms) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .nanoseconds(platforms.requestTimeout.nanoseconds))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // Nothing bootstraps a tracer; left at its default (the global no-op one), the client
        // still builds every request's span attributes, parsing its URL once more.
        configuration.tracing.tracer = nil
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        telegram = TelegramClient(
            configuration: .init(
                apiBaseURL: platforms.telegramAPIURL, fileBaseURL: platforms.telegramFileURL,
                timeout: platforms.requestTimeout),
            http: http)
        discord = DiscordClient(
            configuration: .init(apiBaseURL: platforms.discordAPIURL, timeout: platforms.requestTimeout), http: http,
            rateLimiter: DiscordRateLimiter(globalPerSecond: platforms.discordGlobalPerSecond))
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await http.shutdown()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
