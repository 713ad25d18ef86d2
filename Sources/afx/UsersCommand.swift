import ArgumentParser
import Gateway

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Create users (until the accounts API takes over).",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user; prints its id.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "The user's email address.") var email: String
        @Option(help: "free, pro or elite.") var plan = "elite"
        @Flag(help: "Give the user the admin role.") var admin = false

        func validate() throws {
            guard ["free", "pro", "elite"].contains(plan) else {
                throw ValidationError("--plan must be free, pro or elite")
            }
            guard email.contains("@") else { throw ValidationError("--email must be an email address") }
        }

        func run() async throws {
            try await CLIContext.with(options) { context in
                let user = try await context.users.create(email: email, plan: plan, role: admin ? "admin" : "user")
                print("user \(user.id) created (\(user.email), \(user.plan))")
            }
        }
    }
}
