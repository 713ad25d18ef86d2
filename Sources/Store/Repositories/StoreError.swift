import Logging
import PostgresNIO

/// What a repository reports instead of a raw PostgreSQL error.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// A unique key already holds this value (e.g. the bot is already linked).
    case duplicate(String)
    case notFound(String)
    /// A check or foreign key refused the values.
    case invalid(String)

    public var description: String {
        switch self {
        case .duplicate(let what): "\(what) already exists"
        case .notFound(let what): "\(what) does not exist"
        case .invalid(let why): why
        }
    }
}

/// Maps constraint violations to `StoreError`; everything else passes through.
func mappingConstraintErrors<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PSQLError {
        switch error.serverInfo?[.sqlState] {
        case "23505": throw StoreError.duplicate(what)
        case "23503": throw StoreError.invalid("\(what) refers to something that does not exist")
        case "23514":
            throw StoreError.invalid(
                "\(what) has a value outside what is allowed (\(error.serverInfo?[.constraintName] ?? "check"))")
        default: throw error
        }
    }
}

/// The NOTIFY channel repositories announce changes on, with what changed as the payload.
public enum ChangeNotice {
    public static let channel = "afx_changes"
    public static let accounts = "accounts"
    public static let pairs = "pairs"
}

extension PostgresClient {
    /// `withTransaction` that rethrows what the body threw (postgres-nio wraps it), so callers see
    /// `StoreError`, their own errors and constraint violations as such.
    func transaction<T: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }
}

extension Duration {
    /// Whole milliseconds, for intervals passed to SQL as `n * interval '1 millisecond'`.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
