import JobQueue
import Prometheus
import Store
import Synchronization

/// Prometheus figures of the job engine: outcomes and latencies from the worker pool as they
/// happen, table counts sampled when `/metrics` is scraped.
struct JobMetrics: JobObserver {
    let registry: PrometheusCollectorRegistry
    /// Each (kind, lane, outcome)'s counter and histograms, looked up in the registry once: a
    /// lookup by name and labels costs more than the update, thousands of times a second.
    private let handles = Handles()

    final class Handles: Sendable {
        struct Key: Hashable {
            let kind: String
            let lane: Lane
            let outcome: JobOutcomeLabel
        }
        struct Set: Sendable {
            let finished: Counter
            let startDelay: DurationHistogram
            let runTime: DurationHistogram
        }
        let map = Mutex<[Key: Set]>([:])
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        .seconds(30), .seconds(120),
    ]

    func jobFinished(kind: String, lane: Lane, outcome: JobOutcomeLabel, waited: Duration, ran: Duration) {
        let key = Handles.Key(kind: kind, lane: lane, outcome: outcome)
        let set = handles.map.withLock { $0[key] } ?? makeHandles(key)
        set.finished.increment()
        set.startDelay.record(waited)
        set.runTime.record(ran)
    }

    private func makeHandles(_ key: Handles.Key) -> Handles.Set {
        let labels = [("kind", key.kind), ("lane", key.lane.description)]
        let set = Handles.Set(
            finished: registry.makeCounter(
                descriptor: .init(
                    namespace: "afx", subsystem: "jobs", metricName: "finished", unitName: "total",
                    helpText: "Job runs by kind, lane and outcome."),
                labels: labels + [("outcome", key.outcome.rawValue)]),
            startDelay: registry.makeDurationHistogram(
                descriptor: .init(
                    namespace: "afx", subsystem: "jobs", metricName: "start_delay", unitName: "seconds",
                    helpText: "From enqueue (or due time) to start, by kind and lane."),
                labels: labels, buckets: Self.buckets),
            runTime: registry.makeDurationHistogram(
                descriptor: .init(
                    namespace: "afx", subsystem: "jobs", metricName: "run_time", unitName: "seconds",
                    helpText: "Handler run time by kind and lane."),
                labels: labels, buckets: Self.buckets))
        handles.map.withLock { $0[key] = set }
        return set
    }

    func writeBacksRejected(_ count: Int) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "afx", subsystem: "jobs", metricName: "writebacks_rejected", unitName: "total",
                helpText: "Outcomes refused because the job's lease had moved on (reclaimed or cancelled)."),
            labels: []
        ).increment(by: Int64(count))
    }
}

extension MetricsSampler {
    /// Counts by state, kind and lane, and the age of the oldest due job per lane.
    static func jobQueue(_ queue: JobQueue) -> MetricsSampler {
        MetricsSampler { registry in
            guard let stats = try? await queue.stats() else { return }
            for group in stats.groups {
                registry.makeGauge(
                    descriptor: .init(
                        namespace: "afx", subsystem: "jobs", metricName: "count", unitName: "",
                        helpText: "Jobs in the table by state, kind and lane."),
                    labels: [("state", group.state.rawValue), ("kind", group.kind), ("lane", group.lane.description)]
                ).set(Double(group.count))
            }
            for (lane, age) in stats.oldestDueSecondsByLane {
                registry.makeGauge(
                    descriptor: .init(
                        namespace: "afx", subsystem: "jobs", metricName: "oldest_due_age", unitName: "seconds",
                        helpText: "How long the oldest due, unclaimed job of each lane has waited."),
                    labels: [("lane", lane)]
                ).set(age)
            }
        }
    }
}

extension ReadinessCheck {
    /// The job table answers; the detail is its backlog (a backlog alone does not make us unready).
    static func jobQueue(_ queue: JobQueue, timeout: Duration) -> ReadinessCheck {
        ReadinessCheck(name: "jobs") {
            do {
                let stats = try await withDatabaseDeadline(timeout) { try await queue.stats() }
                return .ready(
                    "available=\(stats.count(state: .available)) running=\(stats.count(state: .running)) "
                        + "discarded=\(stats.count(state: .discarded)) oldest_due=\(String(format: "%.1f", stats.oldestDueSeconds))s"
                )
            } catch {
                return .notReady("the job table cannot be read")
            }
        }
    }
}
