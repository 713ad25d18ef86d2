import Hummingbird
import Logging
import NIOCore

/// The router's outermost middleware: whatever a route (or the router's own not-found) throws
/// leaves as the JSON error shape, never as an empty body.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error, request: request, requestID: context.requestID)
            if apiError.status.code >= 500 {
                context.logger.error(
                    "request failed",
                    metadata: ["error": "\(String(reflecting: error))", "status": "\(apiError.status.code)"])
            }
            return try apiError.response(from: request, context: context)
        }
    }
}

/// Caps the body of every route in a group. A declared `Content-Length` over the limit is
/// refused before the body is read; a chunked body is cut off by `maxUploadSize` when collected.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limit: Int

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw Self.tooLarge(limit)
        }
        var context = context
        context.maxUploadSize = limit
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Self.tooLarge(limit)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(limit)
        }
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(
            .contentTooLarge, code: "payload_too_large",
            "the request body exceeds this endpoint's limit of \(limit) bytes")
    }
}
