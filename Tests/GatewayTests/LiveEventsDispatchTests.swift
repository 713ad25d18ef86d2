import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Gateway

/// The fan-out of one instance: events reach only their user's subscribers, and a subscriber
/// that does not keep up is cut off instead of growing without bound.
struct LiveEventsDispatchTests {
    let events = LiveEvents(
        client: PostgresClient(
            configuration: .init(host: "127.0.0.1", username: "afx", password: nil, database: nil, tls: .disable)),
        logger: Logger(label: "test"), bufferSize: 8)

    func batch(_ user: Int64, count: Int) throws -> String {
        try LiveEvents.payloads(
            (0..<count).map { LiveEvent(userId: user, type: "message.forwarded", pairId: Int64($0)) }
        )
        .joined()
    }

    @Test func eventsReachOnlyTheirUser() async throws {
        let mine = events.subscribe(userID: 1)
        let theirs = events.subscribe(userID: 2)
        events.dispatch(try batch(1, count: 3))
        events.unsubscribe(mine)
        events.unsubscribe(theirs)
        var received: [String] = []
        for await text in mine.stream { received.append(text) }
        var others = 0
        for await _ in theirs.stream { others += 1 }
        #expect(received.count == 3)
        #expect(received.allSatisfy { $0.contains(#""userId":1"#) && $0.contains("message.forwarded") })
        #expect(others == 0)
        #expect(events.subscriberCount == 0)
    }

    @Test func aSubscriberThatFallsBehindIsCutOff() async throws {
        let slow = events.subscribe(userID: 7)
        events.dispatch(try batch(7, count: 8))
        let before = slow.overflowed.load(ordering: .relaxed)
        #expect(!before)
        events.dispatch(try batch(7, count: 1))
        let after = slow.overflowed.load(ordering: .relaxed)
        #expect(after)
        // What was queued is still delivered, then the stream ends.
        var count = 0
        for await _ in slow.stream { count += 1 }
        #expect(count == 8)
        events.unsubscribe(slow)
    }

    @Test func batchesStayUnderNotifysPayloadLimit() throws {
        let many = (0..<500).map {
            LiveEvent(userId: 1, type: "message.failed", pairId: Int64($0), reason: String(repeating: "x", count: 100))
        }
        let payloads = try LiveEvents.payloads(many)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count < 8000 })
        let decoded = payloads.flatMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [[String: Any]]) ?? []
        }
        #expect(decoded.count == 500)
    }
}
