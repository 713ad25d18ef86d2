import ArgumentParser
import Foundation
import Gateway
import Logging

@main
struct AFX: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "afx",
        abstract: "AutoForwardX: the Telegram and Discord message-forwarding gateway.",
        discussion:
            "Settings come from config/afx.yaml (or --config), overridden by AFX_* environment variables and DATABASE_URL; secrets only from the environment or *_FILE paths. Run `afx config check` to see the effective configuration.",
        subcommands: [
            ServeCommand.self, WorkCommand.self, MigrateCommand.self, UsersCommand.self, TelegramCommand.self,
            DiscordCommand.self, PairsCommand.self, JobsCommand.self, ConfigCommand.self, SimulateCommand.self,
            BenchCommand.self,
        ])
}

/// Options every command that reads the configuration shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The YAML configuration file (default: $AFX_CONFIG, else config/afx.yaml if present).")
    var config: String?

    /// Loads the configuration, or prints the one line that says what is wrong and exits 78
    /// (EX_CONFIG).
    func load() async throws -> ConfigLoader.Result {
        do {
            let result = try await ConfigLoader(filePath: config).load()
            return result
        } catch {
            FileHandle.standardError.write(Data("afx: \(error.description)\n".utf8))
            throw ExitCode(78)
        }
    }
}

enum Logging {
    /// Bootstraps swift-log once: human-readable lines on stderr at the configured level.
    static func bootstrap(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level) }
        var logger = Logger(label: "afx")
        logger.logLevel = level
        return logger
    }

    static func fail(_ message: String, code: Int32 = 1) -> ExitCode {
        FileHandle.standardError.write(Data("afx: \(message)\n".utf8))
        return ExitCode(code)
    }
}
