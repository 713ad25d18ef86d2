import Foundation
import Hummingbird
import JobQueue
import Logging
import PostgresNIO
import Store
import Testing

@testable import Gateway

/// The document and the router agree: every `/v1` route is documented and every documented
/// operation is routed. (schemathesis in scripts/test checks the responses themselves.)
struct OpenAPIDocumentTests {
    @Test func everyRouteIsDocumentedAndEveryOperationRouted() throws {
        let document = String(decoding: OpenAPIDocument.bytes, as: UTF8.self)
        #expect(document.hasPrefix("openapi: 3.1.0"))
        var documented: Set<String> = []
        var path: String?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if !line.hasPrefix("  ") {
                path = nil
            } else if let path,
                let method = ["get", "post", "put", "patch", "delete"].first(where: {
                    line == "    \($0):"
                })
            {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }

        let config = AppConfig()
        let client = PostgresClient(
            configuration: .init(host: "127.0.0.1", username: "afx", password: nil, database: nil, tls: .disable))
        let sessions = SessionRepository(client: client)
        let api = APIServices(
            users: UserRepository(client: client), sessions: sessions, keys: APIKeyRepository(client: client),
            pairs: PairRepository(client: client), accounts: AccountRepository(client: client),
            gate: .init(catalog: try PlanLoader.load(path: "config/plans.yaml")),
            tokens: SessionTokens(
                secret: String(repeating: "s", count: 40), sessions: sessions, accessTTL: .seconds(60),
                refreshTTL: .seconds(600)),
            hasher: PasswordHasher(cost: 4), limiter: RateLimiter(repository: .init(client: client)),
            events: LiveEvents(client: client, logger: Logger(label: "test")),
            configuration: config)
        let router = Router(context: AppRequestContext.self)
        let platforms = PlatformClients(config.platforms)
        defer { try? platforms.http.syncShutdown() }
        V1Routes.add(
            to: router, api: api,
            linking: AccountLinking(
                client: client, cipher: CredentialCipher(key: Array(repeating: 1, count: 32)), platforms: platforms),
            queue: .init(client: client, logger: Logger(label: "test")), client: client)
        let routed = Set(
            router.routes.map { route in
                let path = "\(route.path)".split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }
                return "\(route.method) /" + path.joined(separator: "/")
            })
        #expect(routed.count > 20)
        #expect(routed.subtracting(documented).isEmpty, "routed but not documented")
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed")
    }
}
