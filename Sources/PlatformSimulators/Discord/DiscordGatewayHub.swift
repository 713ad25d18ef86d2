import Foundation
import HummingbirdWebSocket
import Synchronization

/// The simulated Gateway: sessions with their event logs (so a resume replays what a dropped
/// connection missed), live connections, and the misbehaviour tests ask for (close codes,
/// reconnect requests, invalid sessions, unanswered heartbeats).
final class DiscordGatewayHub: Sendable {
    enum Outgoing: Sendable {
        case text(String)
        case close(UInt16)
    }

    struct Session: Sendable {
        var id: String
        var token: String
        var sequence = 0
        var log: [(sequence: Int, frame: String)] = []
        var connection: UUID?
        var invalid = false
    }

    struct Live: Sendable {
        var token: String
        var sessionID: String?
        var continuation: AsyncStream<Outgoing>.Continuation
    }

    struct State: Sendable {
        var heartbeatInterval = 41_250
        var sessions: [String: Session] = [:]
        var live: [UUID: Live] = [:]
        var stats: [String: DiscordSimulator.GatewayStats] = [:]
        var deniedMessageContent: Set<String> = []
        var silentHeartbeats: Set<String> = []
        var nextSession = 1
        /// What Get Gateway Bot reports as `session_start_limit`.
        var sessionStartRemaining = 999
        var sessionStartResetAfter = 86_400_000
        /// False: Gateway upgrades are refused (an outage; sessions wait to resume).
        var available = true
        var baseURL = ""
    }

    let state = Mutex(State())

    func stats(_ token: String) -> DiscordSimulator.GatewayStats {
        state.withLock { $0.stats[token] ?? .init() }
    }

    private func update(_ token: String, in state: inout State, _ change: (inout DiscordSimulator.GatewayStats) -> Void)
    {
        var stats = state.stats[token] ?? .init()
        change(&stats)
        state.stats[token] = stats
    }

    /// Appends an event to every valid session's log and sends it where connected.
    func dispatch(_ event: String, data: SimulatorJSON) {
        state.withLock { state in
            for id in state.sessions.keys where !(state.sessions[id]?.invalid ?? true) {
                Self.append(event, data: data, to: id, in: &state)
            }
        }
    }

    private static func append(_ event: String, data: SimulatorJSON, to sessionID: String, in state: inout State) {
        guard var session = state.sessions[sessionID] else { return }
        session.sequence += 1
        let frame = SimulatorJSON.object([
            "op": 0, "s": .int(Int64(session.sequence)), "t": .string(event), "d": data,
        ]).jsonString
        session.log.append((session.sequence, frame))
        state.sessions[sessionID] = session
        if let connection = session.connection, let live = state.live[connection] {
            live.continuation.yield(.text(frame))
        }
    }

    /// Sends `item` to every live connection of the bot.
    func send(_ item: Outgoing, token: String) {
        state.withLock { state in
            for live in state.live.values where live.token == token || token.isEmpty {
                live.continuation.yield(item)
            }
        }
    }

    func invalidate(token: String, resumable: Bool) {
        state.withLock { state in
            for (id, live) in state.live where live.token == token {
                if !resumable, let sessionID = live.sessionID { state.sessions[sessionID]?.invalid = true }
                live.continuation.yield(.text("{\"op\":9,\"d\":\(resumable)}"))
                _ = id
            }
        }
    }

    // MARK: One connection

    func handler(
        guilds: @escaping @Sendable () -> [SimulatorJSON], bots: @escaping @Sendable (String) -> SimulatorJSON?
    )
        -> WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
    {
        { inbound, outbound, _ in
            let (stream, continuation) = AsyncStream<Outgoing>.makeStream()
            let id = UUID()
            let interval = self.state.withLock { $0.heartbeatInterval }
            continuation.yield(.text(#"{"op":10,"d":{"heartbeat_interval":\#(interval)},"s":null,"t":null}"#))
            // A peer that vanishes (killed, no close frame) ends the inbound stream with an error;
            // the connection is gone either way.
            defer {
                self.state.withLock { state in
                    if let live = state.live.removeValue(forKey: id) {
                        if let sessionID = live.sessionID, state.sessions[sessionID]?.connection == id {
                            state.sessions[sessionID]?.connection = nil
                        }
                        self.update(live.token, in: &state) { $0.live -= 1 }
                    }
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await item in stream {
                        switch item {
                        case .text(let text):
                            try await outbound.write(.text(text))
                        case .close(let code):
                            try await outbound.close(.init(codeNumber: Int(code)), reason: nil)
                            return
                        }
                    }
                }
                group.addTask {
                    defer { continuation.finish() }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message, let frame = try? SimulatorJSON(parsing: Data(text.utf8))
                        else { continue }
                        self.receive(frame, connection: id, continuation: continuation, guilds: guilds, bots: bots)
                    }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }

    private func receive(
        _ frame: SimulatorJSON, connection id: UUID, continuation: AsyncStream<Outgoing>.Continuation,
        guilds: () -> [SimulatorJSON], bots: (String) -> SimulatorJSON?
    ) {
        let data = frame["d"] ?? .null
        switch frame["op"]?.intValue {
        case 1:
            let token = state.withLock { $0.live[id]?.token ?? "" }
            let silent = state.withLock { $0.silentHeartbeats.contains(token) }
            if !silent { continuation.yield(.text(#"{"op":11,"d":null,"s":null,"t":null}"#)) }
            state.withLock { state in self.update(token, in: &state) { $0.heartbeats += 1 } }
        case 2:
            let token = data["token"]?.stringValue ?? ""
            guard let user = bots(token) else {
                continuation.yield(.close(4004))
                return
            }
            let intents = data["intents"]?.intValue ?? 0
            let guildList = guilds()
            state.withLock { state in
                self.update(token, in: &state) { $0.identifies += 1 }
                if intents & (1 << 15) != 0 && state.deniedMessageContent.contains(token) {
                    continuation.yield(.close(4014))
                    return
                }
                // A new identify replaces the bot's older sessions.
                for key in state.sessions.keys where state.sessions[key]?.token == token {
                    state.sessions[key]?.invalid = true
                }
                let sessionID = "sim-session-\(state.nextSession)"
                state.nextSession += 1
                state.sessions[sessionID] = Session(id: sessionID, token: token, connection: id)
                self.attach(id, token: token, sessionID: sessionID, continuation: continuation, in: &state)
                Self.append(
                    "READY",
                    data: [
                        "v": 10, "user": user, "session_id": .string(sessionID),
                        "resume_gateway_url": .string(state.baseURL + "/gateway"),
                        "guilds": .array(guildList.map { ["id": $0["id"] ?? .null, "unavailable": true] }),
                        "application": ["id": user["id"] ?? .null],
                    ], to: sessionID, in: &state)
                for guild in guildList { Self.append("GUILD_CREATE", data: guild, to: sessionID, in: &state) }
            }
        case 6:
            let token = data["token"]?.stringValue ?? ""
            let sessionID = data["session_id"]?.stringValue ?? ""
            let sequence = Int(data["seq"]?.intValue ?? 0)
            state.withLock { state in
                self.update(token, in: &state) { $0.resumes += 1 }
                guard let session = state.sessions[sessionID], session.token == token, !session.invalid else {
                    continuation.yield(.text(#"{"op":9,"d":false,"s":null,"t":null}"#))
                    return
                }
                // The session moves to this connection; an older one stops receiving.
                if let old = session.connection, old != id { state.live[old]?.sessionID = nil }
                state.sessions[sessionID]?.connection = id
                self.attach(id, token: token, sessionID: sessionID, continuation: continuation, in: &state)
                for entry in session.log where entry.sequence > sequence {
                    continuation.yield(.text(entry.frame))
                    self.update(token, in: &state) { $0.replayed += 1 }
                }
                Self.append("RESUMED", data: [:], to: sessionID, in: &state)
            }
        default:
            break
        }
    }

    private func attach(
        _ id: UUID, token: String, sessionID: String, continuation: AsyncStream<Outgoing>.Continuation,
        in state: inout State
    ) {
        if state.live[id] == nil {
            update(token, in: &state) {
                $0.connections += 1
                $0.live += 1
                $0.maxLive = max($0.maxLive, $0.live)
            }
        }
        state.live[id] = Live(token: token, sessionID: sessionID, continuation: continuation)
    }
}
