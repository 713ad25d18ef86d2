import Foundation
import TestSupport
import Testing

/// Two real `afx work` processes share one database: one runs the bot's Gateway session; when
/// it is killed (SIGKILL, no goodbye), the other takes the session over once the lease lapses,
/// resuming it, so what was posted meanwhile still arrives.
@Suite(.database, .timeLimit(.minutes(3))) struct GatewayTakeoverTests {
    static let lease = 3

    func environment(_ world: ForwardingWorld, discordBase: String, telegramBase: String, name: String)
        -> [String: String]
    {
        let database = world.database.url
        return [
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL":
                "postgres://\(database.username)@\(database.host):\(database.port)/\(database.database)?sslmode=disable",
            "AFX_ENVIRONMENT": "development",
            "AFX_INSTANCE_NAME": name,
            "AFX_LOG_LEVEL": "info",
            // The same key as the in-process app, so the children read the linked bot's token.
            "AFX_ENCRYPTION_KEY": Data(repeating: 7, count: 32).base64EncodedString(),
            "AFX_PLATFORMS_DISCORD_API_URL": discordBase,
            "AFX_PLATFORMS_TELEGRAM_API_URL": telegramBase,
            "AFX_PLATFORMS_TELEGRAM_CHAT_PER_SECOND": "1000",
            "AFX_PLATFORMS_TELEGRAM_GROUP_PER_MINUTE": "60000",
            "AFX_DISCORD_GATEWAY_LEASE": "\(Self.lease)s",
            "AFX_DISCORD_GATEWAY_IDENTIFY_INTERVAL": "100ms",
            "AFX_DISCORD_GATEWAY_RECONNECT_BASE": "100ms",
            "AFX_JOBS_POLL_INTERVAL": "200ms",
            // A job the killed instance was running (or had finished without its completion written
            // yet) holds its pair's order until its lease lapses; keep that short here.
            "AFX_JOBS_LEASE": "3s",
        ]
    }

    @Test func anotherInstanceTakesTheSessionOverWithinTheLeaseAfterItsOwnerIsKilled() async throws {
        try await ForwardingWorld.run(configure: { $0.discord.gatewayEnabled = false }) { world in
            let token = ForwardingWorld.discordBotToken
            try await world.discordPair(to: .telegram)
            let discordBase = world.app.app.config.platforms.discordAPIURL
            let telegramBase = world.app.app.config.platforms.telegramAPIURL
            let first = try ChildProcess(
                RepoPaths.afxBinary, ["work"],
                environment: environment(world, discordBase: discordBase, telegramBase: telegramBase, name: "first"))
            try await world.waitUntil("the first instance runs the session", timeout: .seconds(60)) {
                world.discord.gatewayStats(token: token).live == 1
            }
            let second = try ChildProcess(
                RepoPaths.afxBinary, ["work"],
                environment: environment(world, discordBase: discordBase, telegramBase: telegramBase, name: "second"))
            #expect(await second.waitForOutput("workers started", timeout: .seconds(60)), "\(second.report)")

            try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: "300000000000000001", content: "before")
            try await world.waitUntil("the first copy exists") { world.telegramCopies.count == 1 }
            // Killed between Telegram's answer and the copy's record, the job would rightly run
            // again (at least once: Telegram has no idempotency key). This test is about the
            // session, so the kill comes once the copy is recorded; its job's completion may still
            // be unwritten, and a rerun must then find the copy and not send it again.
            try await world.waitUntil("the first copy is recorded") {
                try await world.count("SELECT count(*) FROM message_links") == 1
            }
            try await world.waitUntil("the session's resume state is saved") {
                try await world.count(
                    "SELECT count(*) FROM discord_gateway_sessions WHERE owner LIKE 'first@%' AND sequence > 0") == 1
            }
            // Both ran for a while: never two sessions at once.
            #expect(world.discord.gatewayStats(token: token).maxLive == 1)

            first.signal(SIGKILL)
            let killed = ContinuousClock.now
            try world.discord.postUserMessage(
                channelID: ForwardingWorld.discordChannel, authorID: "300000000000000001", content: "while moving")
            let before = world.discord.gatewayStats(token: token)
            try await world.waitUntil(
                "the second instance runs the session (\(second.output.stderr.suffix(2000)))", timeout: .seconds(30)
            ) {
                let stats = world.discord.gatewayStats(token: token)
                let owner = try await world.count(
                    "SELECT count(*) FROM discord_gateway_sessions WHERE owner LIKE 'second@%'")
                return owner == 1 && stats.live == 1 && stats.connections > before.connections
            }
            let takeover = ContinuousClock.now - killed
            print("Gateway session taken over \(takeover) after its owner was killed (lease \(Self.lease) s)")
            // The lease lapses at most `lease` after its last renewal, and the survivor looks every
            // third of it; a little more for the connection itself.
            #expect(takeover < .seconds(Self.lease) * 4 / 3 + .seconds(2), "took \(takeover)")
            try await world.waitUntil("the message posted while the session moved is copied") {
                world.telegramCopies.count == 2
            }
            #expect(world.telegramCopies.map(\.text) == ["before", "while moving"])
            let stats = world.discord.gatewayStats(token: token)
            #expect(stats.identifies == before.identifies, "the survivor resumed rather than identifying again")
            #expect(stats.resumes > before.resumes)
            #expect(stats.maxLive == 1)
            #expect(
                try await world.count("SELECT count(*) FROM discord_gateway_sessions WHERE owner LIKE 'second@%'") == 1)

            second.signal(SIGTERM)
            #expect(await second.waitForExit(timeout: .seconds(20)) == 0, "\(second.output.stderr)")
            // A graceful stop gives the lease up at once.
            #expect(
                try await world.count("SELECT count(*) FROM discord_gateway_sessions WHERE lease_expires_at < now()")
                    == 1)
        }
    }
}
