import JobQueue
import PostgresNIO

extension Error {
    /// True when the error means "PostgreSQL is not reachable right now" rather than "this query is
    /// wrong": connection failures, server shutdown, too many connections, or our own deadline.
    public var isDatabaseUnavailable: Bool {
        if self is DatabaseTimeout { return true }
        guard let error = self as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown,
            .sslUnsupported, .failedToAddSSLHandler:
            return true
        case .server:
            // 08: connection exception; 53: insufficient resources; 57: operator intervention
            // (admin shutdown, cannot connect now).
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57")
        default:
            return false
        }
    }

    public var isUniqueViolation: Bool {
        (self as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }
}

/// Runs `body`, giving up with `DatabaseTimeout` after `timeout`. PostgresClient waits for a
/// connection as long as the server is away; a request must not.
public func withDatabaseDeadline<T: Sendable>(
    _ timeout: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withDeadline(timeout, body)
}
