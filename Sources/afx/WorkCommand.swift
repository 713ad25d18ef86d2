import ArgumentParser
import Gateway
import Logging

struct WorkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Run job workers without the HTTP server.",
        discussion:
            "For scaling workers apart from the gateway. SIGTERM stops claiming, lets running jobs finish within server.shutdownTimeout and hands the rest back."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let loaded = try await options.load()
        var config = loaded.config
        config.jobs.enabled = true
        let logger = Logging.bootstrap(level: config.logLevel)
        for warning in loaded.warnings { logger.warning("\(warning)") }
        let app: AFXApplication
        do {
            app = try buildApplication(config, logger: logger, serveHTTP: false)
        } catch let error as ConfigurationError {
            throw Logging.fail(error.description, code: 78)
        }
        logger.info("workers started", metadata: ["concurrency": "\(config.jobs.concurrency)"])
        try await app.run()
        logger.info("stopped")
    }
}
