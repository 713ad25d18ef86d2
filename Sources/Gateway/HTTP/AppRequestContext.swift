import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of every route: request id, the client's address, and the body limit of
/// the route group the request landed in.
public struct AppRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var maxUploadSize: Int
    /// The TCP peer; `clientAddress` is what the request is attributed to after trusted proxies.
    public let peerAddress: String?
    public var clientAddress: String?
    public var requestID: String = ""
    /// Who is calling, once `Authenticator` has checked the bearer token (API routes only).
    public var principal: Principal?
    /// Where `/v1/events` hands its WebSocket handler to the upgrade.
    public let webSocket = WebSocketHandlerReference<AppRequestContext>()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 1 << 20
        self.peerAddress = source.channel.remoteAddress?.ipAddress
        self.clientAddress = self.peerAddress
    }
}
