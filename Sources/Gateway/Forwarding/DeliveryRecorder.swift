import JobQueue
import ServiceLifecycle
import Store

/// Writes delivered messages' links and log lines: concurrent deliver jobs' records are
/// group-committed, so many deliveries share one statement and one commit, and each job returns
/// only once its own record is written (its completion must come after it).
final class DeliveryRecorder: Service, Sendable {
    let repository: DeliveryRepository
    private let committer: GroupCommit<DeliveryRecord, Result<Void, any Error>>

    init(repository: DeliveryRepository) {
        self.repository = repository
        // One bad record (its pair deleted meanwhile) must not fail the others, whose messages
        // are already out: after a failed batch each is written alone, so only it sees the error.
        committer = GroupCommit(
            maxBatch: 256, linger: .milliseconds(2),
            flush: GroupCommit.isolatingFailures { records in
                try await repository.recordDeliveries(records)
                return records.map { _ in () }
            })
    }

    /// Returns once `record` is committed.
    func record(_ record: DeliveryRecord) async throws {
        guard committer.isRunning else { return try await repository.recordDeliveries([record]) }
        try await committer.submit(record).get()
    }

    /// Statements written so far (each carries every record queued when it started).
    var batches: Int { committer.batchCount }

    func run() async throws {
        await withGracefulShutdownHandler {
            await committer.run(flushers: 1)
        } onGracefulShutdown: {
            self.committer.stop()
        }
    }
}
