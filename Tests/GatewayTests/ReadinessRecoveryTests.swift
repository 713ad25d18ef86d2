import Foundation
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct ReadinessRecoveryTests {
    /// PostgreSQL stopping makes /readyz 503 with the reason; it becomes 200 again on its own once
    /// the server is back, without restarting the gateway.
    @Test func readinessFollowsPostgresDownAndUp() async throws {
        let cluster = try await PostgresCluster.start()
        do {
            let database = try await TestDatabase.create(on: cluster.url)
            try await TestApp.with(database: database.url) { app in
                #expect(try await app.client.send(.GET, "\(app.baseURL)/readyz").status == 200)

                try await cluster.stopServer()
                let down = try await app.client.send(.GET, "\(app.baseURL)/readyz")
                #expect(down.status == 503)
                #expect(try down.errorCode() == "not_ready")
                #expect(down.body.contains("PostgreSQL is unreachable"))
                // Liveness does not depend on the database.
                #expect(try await app.client.send(.GET, "\(app.baseURL)/healthz").status == 200)

                try await cluster.startServer()
                var status = 0
                for _ in 0..<50 where status != 200 {
                    status = try await app.client.send(.GET, "\(app.baseURL)/readyz").status
                    if status != 200 { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(status == 200)
            }
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }
}
