import AsyncHTTPClient
import Foundation
import Gateway
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Store

/// A running in-process gateway on a free port, over real TLS, against the suite's database.
public struct TestApp: Sendable {
    public let app: AFXApplication
    public let baseURL: String
    public let client: HTTPClient
    public let certificates: TestCertificates

    /// The configuration tests start from: development, port 0, TLS with the test CA, the suite's
    /// database, debug routes on.
    public static func config(database: DatabaseURL, certificates: TestCertificates) -> AppConfig {
        var config = AppConfig()
        config.environment = .development
        config.server.host = "127.0.0.1"
        config.server.port = 0
        config.server.certificatePath = certificates.certificatePath
        config.server.privateKeyPath = certificates.privateKeyPath
        config.server.debugRoutes = true
        config.server.shutdownTimeout = .seconds(15)
        config.database.url = database
        config.database.poolSize = 8
        config.database.requestTimeout = .seconds(2)
        config.secrets.encryptionKey = Secret(Array(repeating: 7, count: 32))
        config.secrets.jwtSecret = Secret(String(repeating: "j", count: 40))
        config.auth.bcryptCost = 4
        // Suites share a database and sign in from one address; the limit has its own tests.
        config.auth.signInPerMinute = 100_000
        return config
    }

    /// Starts the app, runs `body`, then shuts the app down gracefully.
    public static func with<T: Sendable>(
        database: DatabaseURL? = nil,
        configure: (inout AppConfig) -> Void = { _ in },
        _ body: (TestApp) async throws -> T
    ) async throws -> T {
        let certificates = try await TestCertificates.shared()
        let databaseURL = try database ?? TestDatabase.required.url
        var config = Self.config(database: databaseURL, certificates: certificates)
        configure(&config)
        var logger = Logger(label: "test.app")
        logger.logLevel =
            ProcessInfo.processInfo.environment["AFX_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = try buildApplication(config, logger: logger) { port in portContinuation.yield(port) }
        let group = app.serviceGroup()
        let client = HTTPClient(configuration: try .testClient(trusting: certificates.caPath))
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { tasks -> T in
                tasks.addTask { try await group.run() }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw ShellError(description: "the app did not start") }
                let scheme = config.server.plainHTTP ? "http" : "https"
                let testApp = TestApp(
                    app: app, baseURL: "\(scheme)://localhost:\(port)", client: client, certificates: certificates)
                do {
                    let result = try await body(testApp)
                    try await client.shutdown()
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                    return result
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await tasks.waitForAll()
                    throw error
                }
            }
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

extension HTTPClient.Configuration {
    /// A client that trusts only the given CA file.
    public static func testClient(trusting caPath: String) throws -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caPath)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return configuration
    }
}

/// A response read whole, for assertions.
public struct TestResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: String

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw ShellError(description: "body is not a JSON object: \(body)")
        }
        return object
    }

    /// The `{"error": {"code", "message"}}` of an error response.
    public func errorCode() throws -> String? {
        ((try json())["error"] as? [String: Any])?["code"] as? String
    }
}

extension HTTPClient {
    public func send(
        _ method: NIOHTTP1.HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        return TestResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: String(buffer: buffer))
    }
}
