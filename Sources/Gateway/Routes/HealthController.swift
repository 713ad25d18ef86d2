import Foundation
import Hummingbird
import JobQueue
import Logging
import PostgresNIO
import Prometheus
import Store

public enum ReadinessResult: Sendable {
    /// Ready, with a detail worth showing (counts, "ok").
    case ready(String)
    /// Not ready, and why.
    case notReady(String)
}

/// One thing `/readyz` waits for.
public struct ReadinessCheck: Sendable {
    public let name: String
    public let check: @Sendable () async -> ReadinessResult

    public init(name: String, check: @escaping @Sendable () async -> ReadinessResult) {
        self.name = name
        self.check = check
    }
}

/// A figure sampled when `/metrics` is scraped (pool sizes, queue depths).
public struct MetricsSampler: Sendable {
    public let sample: @Sendable (PrometheusCollectorRegistry) async -> Void

    public init(sample: @escaping @Sendable (PrometheusCollectorRegistry) async -> Void) {
        self.sample = sample
    }
}

struct HealthController {
    let readiness: [ReadinessCheck]
    let samplers: [MetricsSampler]
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in
            Self.json(.ok, ["status": "ok"])
        }
        router.get("readyz") { _, _ in
            try await self.ready()
        }
        router.get("metrics") { _, _ in
            try await self.metrics()
        }
    }

    func ready() async throws -> Response {
        let results = await withTaskGroup(of: (String, ReadinessResult).self) { group in
            for check in readiness {
                group.addTask { (check.name, await check.check()) }
            }
            return await group.reduce(into: [(String, ReadinessResult)]()) { $0.append($1) }
        }.sorted { $0.0 < $1.0 }
        var failures: [String] = []
        var checks: [String: String] = [:]
        for (name, result) in results {
            switch result {
            case .ready(let detail):
                checks[name] = detail
            case .notReady(let reason):
                checks[name] = reason
                failures.append("\(name): \(reason)")
            }
        }
        guard failures.isEmpty else {
            let body = ReadyBody(
                status: "unavailable", checks: checks,
                error: .init(code: "not_ready", message: failures.joined(separator: "; ")))
            return try Self.encode(.serviceUnavailable, body)
        }
        return try Self.encode(.ok, ReadyBody(status: "ready", checks: checks, error: nil))
    }

    func metrics() async throws -> Response {
        await withTaskGroup(of: Void.self) { group in
            for sampler in samplers {
                group.addTask { await sampler.sample(registry) }
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    struct ReadyBody: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
        }
        let status: String
        let checks: [String: String]
        let error: Detail?
    }

    static func json(_ status: HTTPResponse.Status, _ value: [String: String]) -> Response {
        (try? encode(status, value)) ?? Response(status: status)
    }

    static func encode(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension ReadinessCheck {
    /// PostgreSQL answers, and every migration this build ships is applied.
    static func database(_ postgres: PostgresClient, migrator: Migrator, timeout: Duration, logger: Logger)
        -> ReadinessCheck
    {
        ReadinessCheck(name: "database") {
            do {
                let status = try await withDatabaseDeadline(timeout) {
                    try await migrator.status(postgres, logger: logger)
                }
                if !status.isCurrent {
                    let names = status.pending.map { "\($0.version)_\($0.name)" }.joined(separator: ", ")
                    return .notReady("migrations pending: \(names) (run afx migrate)")
                }
                return .ready("ok")
            } catch let error where error.isDatabaseUnavailable {
                let why = error is DatabaseTimeout ? "no answer within \(timeout)" : "connection failed"
                return .notReady("PostgreSQL is unreachable (\(why))")
            } catch {
                return .notReady("PostgreSQL check failed: \(error)")
            }
        }
    }
}

extension MetricsSampler {
    /// Connections this instance holds, by state, as PostgreSQL sees them.
    static func databasePool(_ postgres: PostgresClient, applicationName: String, maxConnections: Int) -> MetricsSampler
    {
        MetricsSampler { registry in
            registry.makeGauge(
                descriptor: .init(
                    namespace: "afx", subsystem: "db", metricName: "pool_max", unitName: "connections",
                    helpText: "The most connections this instance may open (its pool and its claim loops' own)."),
                labels: []
            ).set(Double(maxConnections))
            let states = ["active", "idle", "idle in transaction"]
            var counts = Dictionary(uniqueKeysWithValues: states.map { ($0, 0) })
            var reachable = 1.0
            do {
                let rows = try await withDatabaseDeadline(.seconds(1)) {
                    try await postgres.query(
                        """
                        SELECT coalesce(state, 'unknown'), count(*)::int FROM pg_stat_activity
                        WHERE application_name = \(applicationName) GROUP BY 1
                        """
                    ).collect()
                }
                for row in rows {
                    let (state, count) = try row.decode((String, Int).self)
                    counts[state] = count
                }
            } catch {
                reachable = 0
            }
            for (state, count) in counts {
                registry.makeGauge(
                    descriptor: .init(
                        namespace: "afx", subsystem: "db", metricName: "pool", unitName: "connections",
                        helpText: "This instance's database connections by state (from pg_stat_activity)."),
                    labels: [("state", state)]
                ).set(Double(count))
            }
            registry.makeGauge(
                descriptor: .init(
                    namespace: "afx", subsystem: "db", metricName: "reachable", unitName: "",
                    helpText: "1 when PostgreSQL answered the last scrape within a second."), labels: []
            ).set(reachable)
        }
    }
}
