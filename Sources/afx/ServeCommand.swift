import ArgumentParser
import Foundation
import Gateway
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: HTTPS API and webhooks, job workers and platform sessions.",
        discussion:
            "Serves HTTPS with server.certificate and server.privateKey. With --http it serves plain HTTP for a TLS-terminating proxy and believes X-Forwarded-For only from server.trustedProxies. SIGTERM or Ctrl-C stops accepting connections, lets in-flight requests finish within server.shutdownTimeout, closes the pool and exits 0."
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "Serve plain HTTP (behind a TLS-terminating proxy).")
    var http = false

    @Option(name: .long, help: "Listen on this host (overrides server.host).")
    var host: String?

    @Option(name: .long, help: "Listen on this port (overrides server.port; 0 picks a free one).")
    var port: Int?

    func run() async throws {
        let loaded = try await options.load()
        var config = loaded.config
        if http { config.server.plainHTTP = true }
        if let host { config.server.host = host }
        if let port { config.server.port = port }
        let logger = Logging.bootstrap(level: config.logLevel)
        for warning in loaded.warnings { logger.warning("\(warning)") }

        do {
            let scheme = config.server.plainHTTP ? "http" : "https"
            let host = config.server.host
            let app = try buildApplication(config, logger: logger) { port in
                logger.info("listening", metadata: ["url": "\(scheme)://\(host):\(port)"])
            }
            try await app.run()
        } catch let error as ConfigurationError {
            throw Logging.fail(error.description, code: 78)
        }
        logger.info("stopped")
    }
}
