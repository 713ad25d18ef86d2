import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency (benchmarks, not tests).",
        discussion:
            "Each benchmark uses DATABASE_URL's server when set (in a fresh database it drops afterwards), else starts a local PostgreSQL with durable settings. Run from the repository root, on a release build: swift build -c release && .build/release/afx bench queue",
        subcommands: [
            BenchQueueCommand.self, BenchIngestCommand.self, BenchE2ECommand.self, BenchE2ESendCommand.self,
            BenchAnalyticsCommand.self,
        ])
}
