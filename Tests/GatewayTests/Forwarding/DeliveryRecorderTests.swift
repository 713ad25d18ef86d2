import Forwarding
import Foundation
import PostgresNIO
import ServiceLifecycle
import Store
import Testing

@testable import Gateway

/// Delivered messages' links and log lines, written in batches by the deliver jobs.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DeliveryRecorderTests {
    /// Concurrent records share statements; a record whose pair is gone fails alone, and a copy
    /// recorded twice in one batch keeps its last destination.
    @Test func concurrentRecordsAreBatchedAndABadOneFailsAlone() async throws {
        try await ForwardingWorld.run { world in
            let client = world.app.app.postgres
            let pair = try await world.pair(to: .discordWebhook)
            let repository = DeliveryRepository(client: client)
            let recorder = DeliveryRecorder(repository: repository)
            func record(_ source: Int64, pairID: Int64, dest: Int64) -> DeliveryRecord {
                DeliveryRecord(
                    userID: world.userID, pairID: pairID, sourceChatID: ForwardingWorld.sourceChat,
                    sourceMessageID: source, event: "create",
                    copies: [.init(sourceMessageID: source, part: 0, destChatID: 42, destMessageID: dest)],
                    latencyMS: 3)
            }
            // One statement: the same copy twice keeps the later destination.
            try await repository.recordDeliveries([
                record(1, pairID: pair.id, dest: 10), record(1, pairID: pair.id, dest: 11),
            ])
            #expect(try await repository.links(pairID: pair.id, sourceMessageID: 1).map(\.destMessageID) == [11])

            let logger = Logger(label: "test.recorder")
            let group = ServiceGroup(configuration: .init(services: [recorder], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let failures = try await withThrowingTaskGroup(of: Bool.self) { writers in
                    for source in Int64(100)..<Int64(300) {
                        // Message 150 names a pair that does not exist.
                        let pairID = source == 150 ? pair.id + 1000 : pair.id
                        writers.addTask {
                            do {
                                try await recorder.record(record(source, pairID: pairID, dest: source * 10))
                                return false
                            } catch {
                                return true
                            }
                        }
                    }
                    return try await writers.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(failures == 1)
                #expect(recorder.batches < 100, "200 concurrent records took \(recorder.batches) statements")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let linked = try await client.query(
                "SELECT count(*)::int FROM message_links WHERE pair_id = \(pair.id) AND source_message_id >= 100"
            ).collect().first!.decode(Int.self)
            let logged = try await client.query(
                "SELECT count(*)::int FROM message_logs WHERE pair_id = \(pair.id) AND outcome = 'delivered' AND latency_ms = 3"
            ).collect().first!.decode(Int.self)
            #expect(linked == 199)
            #expect(logged == 201)
            #expect(try await repository.links(pairID: pair.id, sourceMessageID: 150).isEmpty)
            #expect(try await repository.links(pairID: pair.id, sourceMessageID: 299).map(\.destMessageID) == [2990])
        }
    }
}
