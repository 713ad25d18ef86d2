import Prometheus
import Synchronization

/// Request counts and latency histograms by route template and status, in the app's own
/// Prometheus registry (one per app, so tests can run several apps in one process).
public struct HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// The counter and histogram of each label set, looked up once: the registry's lookup by
    /// name and labels costs more than the increment.
    private let handles = HandleCache()

    final class HandleCache: Sendable {
        struct Key: Hashable {
            let route: String
            let method: String
            let status: Int
        }
        let map = Mutex<[Key: (Counter, DurationHistogram)]>([:])
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "afx", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "HTTP requests answered, by route template, method and status.")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "afx", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Time from request head to response, by route template, method and status.")
    }

    func record(route: String, method: String, status: Int, duration: Duration) {
        let key = HandleCache.Key(route: route, method: method, status: status)
        let (counter, histogram): (Counter, DurationHistogram)
        if let found = handles.map.withLock({ $0[key] }) {
            (counter, histogram) = found
        } else {
            let labels = [("route", route), ("method", method), ("status", String(status))]
            counter = registry.makeCounter(descriptor: Self.requests, labels: labels)
            histogram = registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: Self.buckets)
            handles.map.withLock { $0[key] = (counter, histogram) }
        }
        counter.increment()
        histogram.record(duration)
    }
}
