import Foundation
import PostgresNIO

/// Fixed-window request counters shared by every instance (one row per key, upserted).
public struct RateLimitRepository: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Counts one request against `key` and returns the count in its current window and when that
    /// window ends.
    public func hit(key: String, window: Duration) async throws -> (count: Int, resetsAt: Date) {
        let milliseconds = window.wholeMilliseconds
        let row = try await client.query(
            """
            INSERT INTO rate_limit_windows AS w (key, window_start, count) VALUES (\(key), now(), 1)
            ON CONFLICT (key) DO UPDATE SET
                window_start = CASE WHEN w.window_start <= now() - \(milliseconds) * interval '1 millisecond'
                    THEN now() ELSE w.window_start END,
                count = CASE WHEN w.window_start <= now() - \(milliseconds) * interval '1 millisecond'
                    THEN 1 ELSE w.count + 1 END
            RETURNING count, window_start + \(milliseconds) * interval '1 millisecond'
            """
        ).collect().first!
        let (count, resetsAt) = try row.decode((Int32, Date).self)
        return (Int(count), resetsAt)
    }

    /// Forgets windows that ended long ago.
    public func prune(olderThan age: Duration) async throws {
        try await client.query(
            "DELETE FROM rate_limit_windows WHERE window_start < now() - \(Int64(age.components.seconds)) * interval '1 second'"
        )
    }
}
