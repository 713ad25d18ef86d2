import Forwarding
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PostgresNIO
import Store

/// Every error the HTTP surface answers with: `{"error": {"code": …, "message": …}}` and the
/// matching status. `code` is stable for programs; `message` tells a person what to do.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]
    /// Extra top-level fields merged into the body (e.g. readiness checks).
    public var details: [String: String] = [:]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    struct Body: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
        }
        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(Body(error: .init(code: code, message: message)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension APIError {
    public static func badRequest(_ code: String, _ message: String) -> APIError {
        APIError(.badRequest, code: code, message)
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "not_found", message)
    }

    public static func unauthorized(_ code: String = "unauthorized", _ message: String) -> APIError {
        APIError(.unauthorized, code: code, message)
    }

    public static func databaseUnavailable() -> APIError {
        APIError(
            .serviceUnavailable, code: "database_unavailable",
            "the database is unreachable; nothing was stored, retry later", headers: [.retryAfter: "5"])
    }

    /// Turns any error thrown by a route into the JSON error a client sees. Internal details stay
    /// in the log; the body carries the request id so the two can be matched.
    static func from(_ error: any Error, request: Request, requestID: String) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            return from(httpError: error, request: request)
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, code: "payload_too_large", "the request body is too large")
        case let refusal as PlanRefusal:
            return APIError(.forbidden, code: "plan_limit", refusal.message)
        case let error as PairOptionsError:
            return APIError(.unprocessableContent, code: "validation_failed", "options.\(error.message)")
        case let error as StoreError:
            switch error {
            case .duplicate: return APIError(.conflict, code: "conflict", error.description)
            case .notFound: return .notFound(error.description)
            case .invalid: return APIError(.unprocessableContent, code: "validation_failed", error.description)
            }
        case is DecodingError:
            return .badRequest(
                "invalid_json", "the request body is not the JSON this endpoint expects: \(describe(error))")
        case _ where error.isDatabaseUnavailable:
            return .databaseUnavailable()
        default:
            return APIError(
                .internalServerError, code: "internal_error",
                "an internal error occurred; quote request id \(requestID) when reporting it")
        }
    }

    static func from(httpError: HTTPError, request: Request) -> APIError {
        let message = httpError.body
        var error: APIError
        switch httpError.status {
        case .notFound:
            error = .notFound(message ?? "no route for \(request.method) \(request.uri.path)")
        case .methodNotAllowed:
            error = APIError(
                .methodNotAllowed, code: "method_not_allowed", message ?? "\(request.method) is not allowed here")
        case .contentTooLarge:
            error = APIError(.contentTooLarge, code: "payload_too_large", message ?? "the request body is too large")
        case .badRequest:
            error = .badRequest("bad_request", message ?? "the request is malformed")
        case .unsupportedMediaType:
            error = APIError(
                .unsupportedMediaType, code: "unsupported_media_type", message ?? "unsupported content type")
        default:
            let code = httpError.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            error = APIError(
                httpError.status, code: code.isEmpty ? "error" : code, message ?? httpError.status.reasonPhrase)
        }
        error.headers.append(contentsOf: httpError.headers)
        return error
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the body" : String(text.drop(while: { $0 == "." }))
        }
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "it is not valid JSON" : "\(path(context.codingPath)) is malformed"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(typeName(type)), not null"
        @unknown default:
            return "it does not match"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is Double.Type: "a number"
        default: "\(type)".hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
