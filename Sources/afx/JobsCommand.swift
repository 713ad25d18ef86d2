import ArgumentParser
import Foundation
import Gateway
import JobQueue
import Logging
import PostgresNIO
import Store

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Inspect and steer the job queue.",
        subcommands: [Stats.self, List.self, Retry.self, Cancel.self])

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts of jobs by state, kind and lane, and the age of the oldest due job.")
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            try await withJobQueue(options) { queue in
                let stats = try await queue.stats()
                if json {
                    print(try jsonString(stats))
                    return
                }
                print("state       kind                            lane    count")
                for group in stats.groups {
                    print(
                        group.state.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                            + group.kind.padding(toLength: 32, withPad: " ", startingAt: 0)
                            + group.lane.description.padding(toLength: 8, withPad: " ", startingAt: 0)
                            + "\(group.count)")
                }
                if stats.groups.isEmpty { print("(no jobs)") }
                let lanes = Lane.allCases.map {
                    "\($0)=\(String(format: "%.1f", stats.oldestDueSecondsByLane[$0.description] ?? 0))s"
                }
                print("oldest due job waiting: \(lanes.joined(separator: " "))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "available, running, completed, discarded or cancelled.") var state: String?
        @Option(help: "Only jobs of this kind.") var kind: String?
        @Option(help: "At most this many.") var limit = 50
        @Flag(help: "Print JSON lines with payload and error history.") var json = false

        func run() async throws {
            var jobState: JobState?
            if let state {
                guard let parsed = JobState(rawValue: state) else {
                    throw ValidationError(
                        "--state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                jobState = parsed
            }
            try await withJobQueue(options) { queue in
                let records = try await queue.list(state: jobState, kind: kind, limit: limit)
                for record in records {
                    if json {
                        print(try jsonString(record))
                    } else {
                        let error = record.lastError.map { "  last error: \($0)" } ?? ""
                        print(
                            "\(record.id)  \(record.state.rawValue)  \(record.kind)  lane=\(record.lane)  attempt \(record.attempt)/\(record.maxAttempts)\(error)"
                        )
                    }
                }
                if records.isEmpty && !json { print("(no matching jobs)") }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a discarded or cancelled job available again, with fresh attempts.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The job id.") var id: Int64?
        @Flag(help: "Retry every discarded job (with --kind, of that kind).") var allDiscarded = false
        @Option(help: "With --all-discarded: only this kind.") var kind: String?

        func validate() throws {
            guard (id != nil) != allDiscarded else { throw ValidationError("give a job id or --all-discarded") }
        }

        func run() async throws {
            try await withJobQueue(options) { queue in
                if let id {
                    try await queue.retry(id: id)
                    print("job \(id) is available again")
                } else {
                    print("\(try await queue.retryAllDiscarded(kind: kind)) discarded job(s) are available again")
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel an available or running job (a running one loses its lease).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The job id.") var id: Int64

        func run() async throws {
            try await withJobQueue(options) { queue in
                try await queue.cancel(id: id)
                print("job \(id) is cancelled")
            }
        }
    }
}

/// Runs `body` with a job queue on the configured database; queue errors become one line and exit 1.
func withJobQueue(_ options: ConfigOptions, _ body: (JobQueue) async throws -> Void) async throws {
    let config = try await options.load().config
    let logger = Logging.bootstrap(level: .warning)
    guard let url = config.database.url else {
        throw Logging.fail("configuration error: database.url (DATABASE_URL): no database configured", code: 78)
    }
    let client = PostgresClient(configuration: url.clientConfiguration(applicationName: "afx-cli"))
    do {
        try await withRunningClient(client) {
            try await body(JobQueue(client: client, logger: logger))
        }
    } catch let error as JobQueueError {
        throw Logging.fail(error.description)
    }
}

func jsonString(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
