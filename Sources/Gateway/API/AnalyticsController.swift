import Foundation
import Hummingbird
import NIOCore
import Store

/// Delivery analytics per user, per pair and (for admins) across everyone: counts by outcome,
/// success rate and latency percentiles per hour or day, as JSON or `text/csv`.
struct AnalyticsController {
    let api: APIServices
    let analytics: AnalyticsRepository

    struct Latency: Encodable {
        var p50: Int
        var p95: Int
        var p99: Int
    }

    struct Row: Encodable {
        var start: Date
        var delivered: Int64
        var failed: Int64
        var filtered: Int64
        var successRate: Double?
        var latencyMs: Latency?

        init(_ bucket: AnalyticsBucket) {
            start = bucket.start
            delivered = bucket.delivered
            failed = bucket.failed
            filtered = bucket.filtered
            let attempted = bucket.delivered + bucket.failed
            successRate =
                attempted == 0 ? nil : (Double(bucket.delivered) / Double(attempted) * 10000).rounded() / 10000
            latencyMs = AnalyticsController.percentiles(bucket.latency)
        }

        enum CodingKeys: String, CodingKey {
            case start, delivered, failed, filtered, successRate, latencyMs
        }

        /// Nulls are written, so every row has the same keys.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(start, forKey: .start)
            try container.encode(delivered, forKey: .delivered)
            try container.encode(failed, forKey: .failed)
            try container.encode(filtered, forKey: .filtered)
            try container.encode(successRate, forKey: .successRate)
            try container.encode(latencyMs, forKey: .latencyMs)
        }
    }

    struct Report: Encodable {
        var from: Date
        var to: Date
        var granularity: String
        var totals: Row
        var series: [Row]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("analytics", use: user)
        group.get("pairs/:id/analytics", use: pair)
    }

    func addAdminRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("analytics", use: everyone)
    }

    @Sendable func user(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.analyticsRead)
        return try await report(request, scope: .init(userID: caller.userID))
    }

    @Sendable func pair(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.caller()
        try caller.require(.analyticsRead)
        let id = try APIFormat.id(context, what: "pair")
        guard let pair = try await api.pairs.find(id: id), pair.userID == caller.userID else {
            throw APIError.notFound("no pair \(id)")
        }
        return try await report(request, scope: .init(userID: caller.userID, pairID: id))
    }

    @Sendable func everyone(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await report(request, scope: .init())
    }

    private func report(_ request: Request, scope: AnalyticsRepository.Scope) async throws -> Response {
        let query = request.uri.queryParameters
        let granularity =
            try query.get("granularity").map { text in
                guard let value = AnalyticsRepository.Granularity(rawValue: text) else {
                    throw APIError.badRequest("invalid_parameter", "granularity must be hour or day")
                }
                return value
            } ?? .hour
        let step: TimeInterval = granularity == .hour ? 3600 : 86400
        let to = try Self.date(query.get("to"), name: "to") ?? Self.ceil(Date(), step)
        let from =
            try Self.date(query.get("from"), name: "from")
            ?? to.addingTimeInterval(-(granularity == .hour ? 86400 : 30 * 86400))
        guard from < to else { throw APIError.badRequest("invalid_parameter", "from must be before to") }
        let maxBuckets: TimeInterval = granularity == .hour ? 24 * 31 : 366
        guard to.timeIntervalSince(from) <= maxBuckets * step else {
            throw APIError.badRequest(
                "invalid_parameter",
                granularity == .hour
                    ? "an hourly report covers at most 31 days" : "a daily report covers at most 366 days")
        }
        let buckets = try await analytics.report(scope: scope, from: from, to: to, granularity: granularity)
        var total = AnalyticsBucket(start: from)
        for bucket in buckets {
            total.delivered += bucket.delivered
            total.failed += bucket.failed
            total.filtered += bucket.filtered
            for index in bucket.latency.indices { total.latency[index] += bucket.latency[index] }
        }
        let wantsCSV =
            query.get("format") == "csv"
            || (query.get("format") == nil && request.headers[.accept]?.contains("text/csv") == true)
        if wantsCSV {
            return Self.csv(buckets.map(Row.init))
        }
        if let format = query.get("format"), format != "json" {
            throw APIError.badRequest("invalid_parameter", "format must be json or csv")
        }
        return try APIFormat.response(
            Report(
                from: from, to: to, granularity: granularity.rawValue, totals: Row(total),
                series: buckets.map(Row.init)))
    }

    /// One line per bucket; empty cells where there is nothing to measure.
    static func csv(_ rows: [Row]) -> Response {
        var text = "start,delivered,failed,filtered,success_rate,latency_p50_ms,latency_p95_ms,latency_p99_ms\r\n"
        for row in rows {
            let cells: [String] = [
                APIFormat.timestamp(row.start), "\(row.delivered)", "\(row.failed)", "\(row.filtered)",
                row.successRate.map { String($0) } ?? "", row.latencyMs.map { "\($0.p50)" } ?? "",
                row.latencyMs.map { "\($0.p95)" } ?? "", row.latencyMs.map { "\($0.p99)" } ?? "",
            ]
            text += cells.joined(separator: ",") + "\r\n"
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"afx-analytics.csv\"",
                .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Percentiles from the histogram, each the upper bound of the bucket it falls in (the open
    /// last bucket reports its lower bound). nil without deliveries.
    static func percentiles(_ histogram: [Int64]) -> Latency? {
        let total = histogram.reduce(0, +)
        guard total > 0 else { return nil }
        let bounds = AnalyticsRepository.latencyBounds
        func percentile(_ p: Double) -> Int {
            let rank = Int64((Double(total) * p).rounded(.up))
            var seen: Int64 = 0
            for (index, count) in histogram.enumerated() {
                seen += count
                if seen >= max(rank, 1) { return index + 1 < bounds.count ? bounds[index + 1] : bounds[index] }
            }
            return bounds[bounds.count - 1]
        }
        return Latency(p50: percentile(0.5), p95: percentile(0.95), p99: percentile(0.99))
    }

    static func date(_ text: String?, name: String) throws -> Date? {
        guard let text else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        throw APIError.badRequest("invalid_parameter", "\(name) must be an ISO 8601 time such as 2026-11-01T00:00:00Z")
    }

    static func ceil(_ date: Date, _ step: TimeInterval) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / step).rounded(.up) * step)
    }
}
