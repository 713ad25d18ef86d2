import ArgumentParser
import Gateway

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect the configuration.",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate the configuration and print every effective setting, secrets masked.",
            discussion: "Exits 78 with one line naming the setting when something is missing or malformed.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let loaded = try await options.load()
            let width = loaded.entries.map(\.key.count).max() ?? 0
            for entry in loaded.entries {
                let padded = entry.key.padding(toLength: width, withPad: " ", startingAt: 0)
                print("\(padded)  \(entry.value.isEmpty ? "(empty)" : entry.value)  [\(entry.source.rawValue)]")
            }
            for warning in loaded.warnings { print("warning: \(warning)") }
        }
    }
}
