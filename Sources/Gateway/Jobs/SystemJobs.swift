import Foundation
import JobQueue

/// Built-in job kinds with no business meaning: the queue benchmark drains `system.noop`, and
/// operators can check the pipeline end to end with them.
public struct NoopJob: JobHandler {
    public struct Payload: Codable, Sendable {
        public var tag: Int
        public init(tag: Int = 0) { self.tag = tag }
    }
    public static let kind = "system.noop"
    public init() {}
    public func handle(_ payload: Payload, context: JobContext) async throws {}
}

/// Sleeps for the given time: stands in for a slow platform call in tests and benchmarks.
public struct SleepJob: JobHandler {
    public struct Payload: Codable, Sendable {
        public var milliseconds: Int
        public init(milliseconds: Int) { self.milliseconds = milliseconds }
    }
    public static let kind = "system.sleep"
    public init() {}
    public func handle(_ payload: Payload, context: JobContext) async throws {
        try await Task.sleep(for: .milliseconds(payload.milliseconds))
    }
}

extension JobRegistry {
    /// Every handler `afx` runs.
    static func standard(forwarding: ForwardingRuntime) -> JobRegistry {
        var registry = JobRegistry()
        registry.register(NoopJob())
        registry.register(SleepJob())
        registry.register(RouteJob(runtime: forwarding))
        registry.register(DeliverJob(runtime: forwarding))
        registry.register(InteractionFollowUpJob(runtime: forwarding))
        return registry
    }
}
