import Foundation
import Hummingbird
import HummingbirdWebSocket

/// `GET /v1/events`: a WebSocket streaming the signed-in user's live events as JSON text
/// frames. Authenticated like the API (a browser, which cannot set headers on a WebSocket, may
/// pass the token as `?access_token=`); API keys need `pairs:read`. The first frame is
/// `{"type":"subscribed"}`; a client that falls too far behind is disconnected with 1008.
enum EventsRoute {
    static func router(api: APIServices, events: LiveEvents) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.group("v1").add(middleware: Authenticator(api: api, allowQueryToken: true)).ws("events") {
            _, context in
            try context.caller().require(.pairsRead)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let caller = context.requestContext.principal else { return }
            let subscription = events.subscribe(userID: caller.userID)
            defer { events.unsubscribe(subscription) }
            await events.register(userID: caller.userID)
            try await outbound.write(.text(#"{"type":"subscribed","userId":\#(caller.userID)}"#))
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Ends when the client closes (pings are answered by the framework).
                group.addTask { for try await _ in inbound {} }
                group.addTask {
                    for await text in subscription.stream { try await outbound.write(.text(text)) }
                }
                // A client that stops reading blocks the writer above; this ends the connection
                // anyway once its queue has overflowed.
                group.addTask {
                    while !subscription.overflowed.load(ordering: .relaxed) {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                try await group.next()
                group.cancelAll()
            }
            if subscription.overflowed.load(ordering: .relaxed) {
                try? await outbound.close(.policyViolation, reason: "too slow: events were dropped")
            }
        }
        return router
    }
}
