import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// What a Gateway session reports to its owner.
public protocol GatewaySessionDelegate: Sendable {
    /// Makes one dispatch durable. The session treats it as received (its sequence is what a
    /// later resume starts from) only once this returns; a throw drops the connection and
    /// resumes, so Discord sends it again.
    func received(_ dispatch: GatewayDispatch) async throws
    /// The resume state changed (Ready, Resumed, each stored dispatch); nil once the session
    /// cannot be resumed. Called often: the owner decides when to persist it.
    func resumeStateChanged(_ state: GatewayResumeState?) async
    /// Waits until this session may identify (Discord allows `max_concurrency` identifies per
    /// five seconds per bot).
    func waitForIdentifySlot() async throws
}

/// Discord closed the session for a reason reconnecting cannot fix (close codes 4004,
/// 4010-4014).
public struct GatewayFatalClose: Error, CustomStringConvertible {
    public let code: Int
    public var description: String { "Discord Gateway closed the session: \(GatewayCloseCode.describe(code))" }
}

/// One bot's Gateway connection over its lifetime: Hello, Identify or Resume, heartbeats with ACK
/// tracking, reconnects with backoff, and resumes from the last stored sequence. A `Service`:
/// `run` returns on graceful shutdown or cancellation (closing resumably) and throws
/// `GatewayFatalClose` when Discord says not to come back.
public final class GatewaySession: Service, Sendable {
    public struct Configuration: Sendable {
        /// Where to connect when there is no session to resume (from Get Gateway Bot).
        public var gatewayURL: String
        public var intents: GatewayIntents
        public var reconnectBase: Duration
        public var reconnectCap: Duration
        /// Discord asks for a random wait of 1-5 s after an Invalid Session before identifying.
        public var invalidSessionDelay: ClosedRange<Double>
        public var maxMessageSize: Int

        public init(
            gatewayURL: String, intents: GatewayIntents = .forwarding, reconnectBase: Duration = .seconds(1),
            reconnectCap: Duration = .seconds(60), invalidSessionDelay: ClosedRange<Double> = 1...5,
            maxMessageSize: Int = 16 << 20
        ) {
            self.gatewayURL = gatewayURL
            self.intents = intents
            self.reconnectBase = reconnectBase
            self.reconnectCap = reconnectCap
            self.invalidSessionDelay = invalidSessionDelay
            self.maxMessageSize = maxMessageSize
        }
    }

    let token: DiscordToken
    let configuration: Configuration
    let delegate: any GatewaySessionDelegate
    let logger: Logger
    private let resume: Mutex<GatewayResumeState?>

    public init(
        token: DiscordToken, configuration: Configuration, resumingFrom state: GatewayResumeState?,
        delegate: any GatewaySessionDelegate, logger: Logger
    ) {
        self.token = token
        self.configuration = configuration
        self.delegate = delegate
        self.logger = logger
        resume = Mutex(state)
    }

    public var resumeState: GatewayResumeState? { resume.withLock { $0 } }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.runUntilCancelled() }
    }

    private func runUntilCancelled() async throws {
        var failures = 0
        while !Task.isCancelled {
            let outcome: Connection.Outcome
            do {
                outcome = try await connect()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("Gateway connection failed", metadata: ["error": "\(error)"])
                outcome = Connection.Outcome(established: false, next: .resume)
            }
            if Task.isCancelled { return }
            if case .fatal(let code) = outcome.next {
                throw GatewayFatalClose(code: code)
            }
            if case .identify = outcome.next {
                resume.withLock { $0 = nil }
                await delegate.resumeStateChanged(nil)
            }
            failures = outcome.established ? 0 : failures + 1
            let delay: Double
            if case .identify(let afterInvalidSession) = outcome.next, afterInvalidSession {
                delay = Double.random(in: configuration.invalidSessionDelay)
            } else if outcome.established {
                // A session that worked reconnects at once (Discord asks for reconnects on op 7).
                delay = 0
            } else {
                let exponential = configuration.reconnectBase.seconds * pow(2, Double(min(failures - 1, 16)))
                delay = min(configuration.reconnectCap.seconds, exponential) * Double.random(in: 0.5...1)
            }
            if delay > 0 {
                logger.info("Gateway reconnecting", metadata: ["in": "\(String(format: "%.2f", delay)) s"])
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }

    /// One connection, from Hello until it closes; says what to do next.
    private func connect() async throws -> Connection.Outcome {
        let state = resume.withLock { $0 }
        let base = state?.resumeURL ?? configuration.gatewayURL
        let url = base + (base.contains("?") ? "&" : "?") + "v=10&encoding=json"
        let connection = Connection(sequence: state?.sequence)
        let clientConfiguration = WebSocketClientConfiguration(
            maxFrameSize: configuration.maxMessageSize, closeTimeout: .seconds(1))
        let closeFrame = try await WebSocketClient.connect(
            url: url, configuration: clientConfiguration, logger: logger
        ) { inbound, outbound, _ in
            try await self.converse(inbound: inbound, outbound: outbound, connection: connection)
        }
        let code = closeFrame.map { Self.number($0.closeCode) }
        if let code {
            logger.info(
                "Gateway connection closed",
                metadata: ["code": "\(code)", "reason": "\(closeFrame?.reason ?? "")"])
        }
        var outcome = connection.outcome
        if let code, GatewayCloseCode.fatal.contains(code) {
            outcome.next = .fatal(code)
        } else if let code, GatewayCloseCode.sessionLost.contains(code) {
            outcome.next = .identify(afterInvalidSession: false)
        }
        return outcome
    }

    private func converse(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, connection: Connection
    ) async throws {
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for try await message in inbound.messages(maxSize: configuration.maxMessageSize) {
                    guard case .text(let text) = message else { continue }
                    let keepGoing = try await handle(text, outbound: outbound, connection: connection, group: &group)
                    if !keepGoing { break }
                }
                group.cancelAll()
            }
        } onCancel: {
            // Any code but 1000/1001 keeps the session resumable for whoever runs it next.
            Task { try? await outbound.close(.unknown(4000), reason: "shutting down") }
        }
    }

    /// Handles one frame; false once this connection should end.
    private func handle(
        _ text: String, outbound: WebSocketOutboundWriter, connection: Connection,
        group: inout ThrowingTaskGroup<Void, any Error>
    ) async throws -> Bool {
        let data = Data(text.utf8)
        guard let header = try? JSONDecoder.discord.decode(GatewayHeader.self, from: data),
            let op = GatewayOpcode(rawValue: header.op)
        else {
            logger.debug("ignoring an unknown Gateway frame")
            return true
        }
        switch op {
        case .hello:
            let hello = try JSONDecoder.discord.decode(GatewayEnvelope<HelloData>.self, from: data).d
            let interval = Duration.milliseconds(max(hello.heartbeatInterval, 100))
            group.addTask { try await self.heartbeat(every: interval, outbound: outbound, connection: connection) }
            if let state = resume.withLock({ $0 }) {
                try await outbound.write(.text(GatewayJSON.resume(token: token.value, state: state)))
            } else {
                try await delegate.waitForIdentifySlot()
                try await outbound.write(
                    .text(GatewayJSON.identify(token: token.value, intents: configuration.intents)))
            }
        case .heartbeat:
            try await outbound.write(.text(GatewayJSON.heartbeat(sequence: connection.sequence)))
        case .heartbeatACK:
            connection.acknowledged()
        case .reconnect:
            logger.info("Discord asked for a reconnect")
            return try await end(connection, next: .resume, outbound: outbound)
        case .invalidSession:
            let resumable = (try? JSONDecoder.discord.decode(GatewayEnvelope<Bool>.self, from: data).d) ?? false
            logger.info("Gateway session invalidated", metadata: ["resumable": "\(resumable)"])
            return try await end(
                connection, next: resumable ? .resume : .identify(afterInvalidSession: true), outbound: outbound)
        case .dispatch:
            guard let event = header.t, let sequence = header.s else { return true }
            if event == "READY" {
                let ready = try JSONDecoder.discord.decode(GatewayEnvelope<ReadyData>.self, from: data).d
                resume.withLock {
                    $0 = GatewayResumeState(
                        sessionID: ready.sessionId, sequence: sequence, resumeURL: ready.resumeGatewayUrl)
                }
                connection.established()
                logger.info("Gateway session ready")
            } else if event == "RESUMED" {
                connection.established()
                logger.info("Gateway session resumed")
            }
            do {
                try await delegate.received(GatewayDispatch(event: event, sequence: sequence, frame: text))
            } catch {
                // Not stored, so not received: resuming makes Discord send it again.
                logger.warning("could not store a Gateway event; resuming", metadata: ["error": "\(error)"])
                return try await end(connection, next: .resume, outbound: outbound)
            }
            connection.stored(sequence)
            let state = resume.withLock { state -> GatewayResumeState? in
                if let current = state?.sequence { state?.sequence = max(current, sequence) }
                return state
            }
            await delegate.resumeStateChanged(state)
        case .identify, .resume:
            break
        }
        return true
    }

    private func end(
        _ connection: Connection, next: Connection.Next, outbound: WebSocketOutboundWriter
    ) async throws -> Bool {
        connection.finish(next)
        try? await outbound.close(.unknown(4000), reason: "reconnecting")
        return false
    }

    /// Heartbeats at the interval, the first after a random part of it; a heartbeat whose
    /// predecessor got no ACK means the connection is a zombie.
    private func heartbeat(
        every interval: Duration, outbound: WebSocketOutboundWriter, connection: Connection
    ) async throws {
        try await Task.sleep(for: interval * Double.random(in: 0..<1))
        while !Task.isCancelled {
            if !connection.sendingHeartbeat() {
                logger.warning("no heartbeat ACK from Discord; reconnecting")
                connection.finish(.resume)
                try? await outbound.close(.unknown(4000), reason: "heartbeat not acknowledged")
                return
            }
            try await outbound.write(.text(GatewayJSON.heartbeat(sequence: connection.sequence)))
            try await Task.sleep(for: interval)
        }
    }
}

/// State of one connection, shared by its reader and its heartbeat.
final class Connection: Sendable {
    enum Next: Sendable {
        case resume
        case identify(afterInvalidSession: Bool)
        case fatal(Int)
    }

    struct Outcome: Sendable {
        var established: Bool
        var next: Next
    }

    private struct State {
        var sequence: Int?
        var awaitingACK = false
        var outcome = Outcome(established: false, next: .resume)
        var finished = false
    }

    private let state: Mutex<State>

    init(sequence: Int?) {
        state = Mutex(State(sequence: sequence))
    }

    var sequence: Int? { state.withLock { $0.sequence } }
    var outcome: Outcome { state.withLock { $0.outcome } }

    func stored(_ sequence: Int) { state.withLock { $0.sequence = max($0.sequence ?? 0, sequence) } }
    func acknowledged() { state.withLock { $0.awaitingACK = false } }
    func established() { state.withLock { $0.outcome.established = true } }

    /// False when the previous heartbeat is still unacknowledged.
    func sendingHeartbeat() -> Bool {
        state.withLock { state in
            if state.awaitingACK { return false }
            state.awaitingACK = true
            return true
        }
    }

    func finish(_ next: Next) {
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            state.outcome.next = next
        }
    }
}

extension GatewaySession {
    /// Discord's own codes (4000-4999) are what matter here; the standard ones only need to be
    /// told apart from them.
    static func number(_ code: WebSocketErrorCode) -> Int {
        switch code {
        case .unknown(let value): Int(value)
        case .normalClosure: 1000
        case .goingAway: 1001
        default: 1002
        }
    }
}

extension Duration {
    var seconds: Double { secondsDouble }
}
