import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Wraps the router: assigns the request id (in the response, in every log line of the request),
/// resolves the client address through trusted proxies, writes the access log and the metrics.
struct GatewayResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == AppRequestContext {
    let inner: Inner
    let metrics: HTTPMetrics
    let trustedProxies: [IPNetwork]
    let honorForwardedFor: Bool

    static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func respond(to request: Request, context: AppRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let requestID = Self.acceptableRequestID(request.headers[Self.requestIDHeader]) ?? Self.makeRequestID()
        context.requestID = requestID
        context.logger[metadataKey: "hb.request.id"] = nil
        context.logger[metadataKey: "request_id"] = .string(requestID)
        if honorForwardedFor {
            context.clientAddress = ClientAddress.resolve(
                peer: context.peerAddress, forwardedFor: request.headers[values: .xForwardedFor],
                trustedProxies: trustedProxies)
        }

        var response: Response
        do {
            response = try await inner.respond(to: request, context: context)
        } catch {
            // The router's error middleware answers nearly everything; this is the last resort.
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            let apiError = APIError.from(error, request: request, requestID: requestID)
            response = try apiError.response(from: request, context: context)
        }
        response.headers[Self.requestIDHeader] = requestID

        let elapsed = ContinuousClock.now - start
        // The router names requests no route matched "NotFound".
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.record(
            route: route, method: request.method.rawValue, status: Int(response.status.code), duration: elapsed)
        context.logger.info(
            "\(request.method) \(request.uri.path) \(response.status.code)",
            metadata: [
                "duration_ms": .string(String(format: "%.2f", elapsed.milliseconds)),
                "client": .string(context.clientAddress ?? "-"),
                "route": .string(route),
            ])
        return response
    }

    /// A caller's id is kept when it looks like an id (so traces join up across services).
    static func acceptableRequestID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({
                $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            })
        else { return nil }
        return value
    }

    static func makeRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

extension HTTPField.Name {
    static var xForwardedFor: Self { Self("X-Forwarded-For")! }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
