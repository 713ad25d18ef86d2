import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `afx bench e2e-send` (hidden): the sender of `bench e2e`, in its own process. Each chat posts
/// its share of the rate in order, one request at a time as Telegram does; writes "sequence
/// sent-at answered-at" (Unix seconds) per request to --out and prints "acknowledged errors" at
/// the end.
///
/// It shares the machine with the gateway it measures, so it is as lean as wrk: plain NIO
/// handlers on one event loop, one keep-alive TLS connection per chat, no async hops. (With
/// AsyncHTTPClient it took a quarter of a core at 800 msg/s.)
struct BenchE2ESendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e-send", abstract: "The sender of bench e2e (run by it).", shouldDisplay: false)

    @Option var url: String
    @Option var secret: String
    @Option var ca: String
    @Option var rate: Int
    @Option var seconds: Int
    @Option var chats: Int
    @Option var out: String

    func run() async throws {
        guard let target = URL(string: url), let host = target.host, let port = target.port else {
            throw ValidationError("--url needs a host and a port: \(url)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(ca)
        let plan = SendPlan(
            host: host, port: port, path: target.path, secret: secret, chats: chats,
            perChat: max(1, rate * seconds / chats),
            interval: .nanoseconds(Int64(Double(chats) / Double(rate) * 1e9)),
            tls: try NIOSSLContext(configuration: tls))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let finished = loop.makePromise(of: SendResult.self)
        try await loop.submit { SendRun(plan: plan, loop: loop, finished: finished).start() }.get()
        let log = try await finished.futureResult.get()
        try await group.shutdownGracefully()
        let lines = log.times.enumerated().filter { $0.element.sent > 0 }
            .map { "\($0.offset) \(String(format: "%.6f %.6f", $0.element.sent, $0.element.answered))" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        print("\(log.acknowledged) \(log.errors)")
    }
}

/// What the sender sends: every chat's messages, paced at `interval` per chat.
struct SendPlan: Sendable {
    var host: String
    var port: Int
    var path: String
    var secret: String
    var chats: Int
    var perChat: Int
    var interval: TimeAmount
    var tls: NIOSSLContext
}

/// What the sender observed: per message its send and answer times (Unix seconds, 0 if never).
struct SendResult: Sendable {
    var times: [(sent: Double, answered: Double)]
    var acknowledged = 0
    var errors = 0
}

/// All chats of one run, on one event loop.
final class SendRun {
    let plan: SendPlan
    let loop: any EventLoop
    var result: SendResult
    private let finished: EventLoopPromise<SendResult>
    private var chatsLeft: Int

    init(plan: SendPlan, loop: any EventLoop, finished: EventLoopPromise<SendResult>) {
        self.plan = plan
        self.loop = loop
        self.finished = finished
        self.result = SendResult(times: Array(repeating: (0, 0), count: plan.chats * plan.perChat))
        self.chatsLeft = plan.chats
    }

    func start() {
        let start = NIODeadline.now()
        for chat in 0..<plan.chats {
            // Chats start spread over one interval so the load is steady, not in bursts.
            let offset = TimeAmount.nanoseconds(plan.interval.nanoseconds * Int64(chat) / Int64(plan.chats))
            ChatSender(chat: chat, first: start + offset, run: self).scheduleNext()
        }
    }

    func chatFinished() {
        chatsLeft -= 1
        if chatsLeft == 0 { finished.succeed(result) }
    }
}

/// One chat: its messages in order, each sent when due and only after the previous one was
/// answered, over one keep-alive connection that is opened again if it closes. A message whose
/// connection could not be opened, or closed before the answer, or that got no answer within
/// 30 s (its connection is then closed), counts as an error.
final class ChatSender {
    private let chat: Int
    private let first: NIODeadline
    private let run: SendRun
    private var next = 0
    private var channel: (any Channel)?
    private var inFlight: Int?
    private var status: HTTPResponseStatus?
    private var answerTimeout: Scheduled<Void>?

    init(chat: Int, first: NIODeadline, run: SendRun) {
        self.chat = chat
        self.first = first
        self.run = run
    }

    func scheduleNext() {
        guard next < run.plan.perChat else {
            channel?.close(promise: nil)
            run.chatFinished()
            return
        }
        let due = first + TimeAmount.nanoseconds(run.plan.interval.nanoseconds * Int64(next))
        let bound = NIOLoopBound(self, eventLoop: run.loop)
        run.loop.scheduleTask(deadline: due) { bound.value.send() }
    }

    private func send() {
        if let channel, channel.isActive {
            write(on: channel)
            return
        }
        let plan = run.plan
        let bound = NIOLoopBound(self, eventLoop: run.loop)
        ClientBootstrap(group: run.loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: plan.tls, serverHostname: nil))
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(ResponseHandler(sender: bound))
                }
            }
            .connect(host: plan.host, port: plan.port)
            .whenComplete { result in
                let sender = bound.value
                switch result {
                case .success(let channel):
                    sender.channel = channel
                    sender.write(on: channel)
                case .failure:
                    sender.moveOn(answered: false)
                }
            }
    }

    private func write(on channel: any Channel) {
        let plan = run.plan
        let sequence = chat * plan.perChat + next
        let body = ByteBuffer(string: BenchE2ECommand.update(sequence: sequence, chat: chat))
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: plan.path)
        head.headers.add(name: "Host", value: "\(plan.host):\(plan.port)")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        head.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: plan.secret)
        inFlight = sequence
        status = nil
        run.result.times[sequence].sent = Date().timeIntervalSince1970
        let bound = NIOLoopBound(self, eventLoop: run.loop)
        answerTimeout = run.loop.scheduleTask(in: .seconds(30)) {
            if bound.value.inFlight == sequence { channel.close(promise: nil) }
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    fileprivate func received(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head):
            status = head.status
        case .body:
            break
        case .end:
            guard let sequence = inFlight else { return }
            run.result.times[sequence].answered = Date().timeIntervalSince1970
            moveOn(answered: status == .ok)
        }
    }

    fileprivate func closed() {
        channel = nil
        if inFlight != nil { moveOn(answered: false) }
    }

    private func moveOn(answered: Bool) {
        answerTimeout?.cancel()
        answerTimeout = nil
        inFlight = nil
        if answered { run.result.acknowledged += 1 } else { run.result.errors += 1 }
        next += 1
        scheduleNext()
    }
}

/// Hands a connection's responses and its closing to its chat.
private final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    let sender: NIOLoopBound<ChatSender>

    init(sender: NIOLoopBound<ChatSender>) { self.sender = sender }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sender.value.received(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sender.value.closed()
    }
}
