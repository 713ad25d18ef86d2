import Foundation
import PostgresNIO

/// The parts of a `postgres://user:password@host:port/database?sslmode=…` URL.
public struct DatabaseURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode

    public init(
        host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
        tlsMode: TLSMode = .prefer
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
    }

    /// Parses a URL; the error says what is wrong without echoing the password.
    public init(parsing string: String) throws(DatabaseURLError) {
        guard let components = URLComponents(string: string),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw DatabaseURLError("expected postgres://user[:password]@host[:port]/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw DatabaseURLError("the URL has no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw DatabaseURLError("the URL has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw DatabaseURLError("the URL has no database name")
        }
        var tlsMode = TLSMode.prefer
        for item in components.queryItems ?? [] where item.name == "sslmode" {
            switch item.value ?? "" {
            case "disable", "allow": tlsMode = .disable
            case "prefer": tlsMode = .prefer
            case "require", "verify-ca", "verify-full": tlsMode = .require
            default: throw DatabaseURLError("sslmode must be disable, prefer or require")
            }
        }
        self.init(
            host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 }, database: database,
            tlsMode: tlsMode)
    }

    /// The URL with the password masked, for logs and `afx config check`.
    public var redacted: String {
        let auth = password == nil ? username : "\(username):***"
        return "postgres://\(auth)@\(host):\(port)/\(database)?sslmode=\(tlsMode.rawValue)"
    }

    public func clientConfiguration(applicationName: String) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch tlsMode {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }
}

public struct DatabaseURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
