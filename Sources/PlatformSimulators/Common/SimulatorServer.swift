import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

/// Runs a Hummingbird HTTP/1.1 server on a task it owns and hands every request, read whole, to
/// a simulator's handler. Kept free of platform logic so both simulators share one lifecycle.
final class SimulatorServer: Sendable {
    typealias Handler = @Sendable (SimulatorRequest) async -> SimulatorResponse
    /// Takes over a WebSocket upgrade request for a path (with its query), or declines it.
    typealias WebSocketRoute =
        @Sendable (_ path: String, _ query: String) -> WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>?

    private let name: String
    private let maxBodySize: Int
    private let handler: Handler
    private let webSocket: WebSocketRoute?
    private let running = Mutex<Task<Void, Never>?>(nil)

    /// - Parameter maxBodySize: bodies above this are not read; the handler sees `bodyTooLarge`.
    init(name: String, maxBodySize: Int, webSocket: WebSocketRoute? = nil, handler: @escaping Handler) {
        self.name = name
        self.maxBodySize = maxBodySize
        self.webSocket = webSocket
        self.handler = handler
    }

    /// Starts listening and returns the bound port (useful with port 0).
    func start(host: String, port: Int) async throws -> Int {
        var logger = Logger(label: "afx.simulator.\(name)")
        // Request logs from a fake would drown the gateway's own logs in tests and `afx simulate`.
        // Stopping cancels the server task, which Hummingbird reports as an error: not news here.
        logger.logLevel = .critical
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let failure = Mutex<(any Error)?>(nil)
        let webSocket = self.webSocket
        let app = Application(
            responder: SimulatorResponder(handler: handler, maxBodySize: maxBodySize),
            server: webSocket == nil
                ? .http1()
                : .http1WebSocketUpgrade { request, _, _ in
                    let target = request.path ?? ""
                    let (path, query) =
                        target.firstIndex(of: "?").map {
                            (String(target[..<$0]), String(target[target.index(after: $0)...]))
                        }
                        ?? (target, "")
                    guard let handler = webSocket?(path, query) else { return .dontUpgrade }
                    return .upgrade([:], handler)
                },
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? port) },
            logger: logger)
        let task = Task {
            do {
                try await app.run()
            } catch {
                failure.withLock { $0 = error }
            }
            portContinuation.finish()
        }
        let alreadyRunning = running.withLock { current -> Bool in
            if current != nil { return true }
            current = task
            return false
        }
        if alreadyRunning {
            task.cancel()
            await task.value
            throw SimulatorError("the \(name) simulator is already running")
        }
        var iterator = ports.makeAsyncIterator()
        guard let boundPort = await iterator.next() else {
            running.withLock { $0 = nil }
            let reason = failure.withLock { $0 }.map { String(describing: $0) } ?? "the server stopped"
            throw SimulatorError("the \(name) simulator could not listen on \(host):\(port): \(reason)")
        }
        return boundPort
    }

    /// Stops the server; requests in flight are cancelled. Safe to call when not running.
    func stop() async {
        let task = running.withLock { current -> Task<Void, Never>? in
            defer { current = nil }
            return current
        }
        guard let task else { return }
        task.cancel()
        await task.value
    }
}

/// Converts between Hummingbird's request/response and the simulators' plain values.
struct SimulatorResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let handler: SimulatorServer.Handler
    let maxBodySize: Int

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        var simulated = SimulatorRequest(
            method: request.method.rawValue.uppercased(), path: request.uri.path,
            query: FormURLEncoding.parse(request.uri.query ?? ""), headers: headers, body: [])
        do {
            var buffer = try await request.body.collect(upTo: maxBodySize)
            simulated.body = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            simulated.bodyTooLarge = true
        }
        let response = await handler(simulated)
        var fields = HTTPFields()
        for (name, value) in response.headers {
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        if simulated.bodyTooLarge {
            // The unread body is still on the wire; closing is the only way to resync.
            fields[.connection] = "close"
        }
        return Response(
            status: HTTPResponse.Status(code: response.status), headers: fields,
            body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}
