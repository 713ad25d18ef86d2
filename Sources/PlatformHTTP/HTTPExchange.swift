import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A response read whole (bounded), with the headers rate limiters need.
public struct HTTPExchange: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: Data

    /// Sends `request` and reads at most `maxBytes` of the answer.
    public static func send(
        _ request: HTTPClientRequest, on client: HTTPClient, timeout: Duration, maxBytes: Int = 1 << 20
    ) async throws -> HTTPExchange {
        let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
        let buffer = try await response.body.collect(upTo: maxBytes)
        return HTTPExchange(status: Int(response.status.code), headers: response.headers, body: Data(buffer: buffer))
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}

extension HTTPClientRequest.Body {
    public static func data(_ data: Data) -> Self {
        .bytes(ByteBuffer(data: data))
    }
}
