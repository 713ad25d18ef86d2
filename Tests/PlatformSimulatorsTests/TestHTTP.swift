import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PlatformSimulators

/// A response read whole, for assertions.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> SimulatorJSON {
        try SimulatorJSON(parsing: Data(body))
    }
}

/// Plain HTTP calls over loopback with the shared AsyncHTTPClient.
enum TestHTTP {
    static func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return HTTPResult(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: buffer.readBytes(length: buffer.readableBytes) ?? [])
    }

    static func json(_ method: HTTPMethod, _ url: String, _ value: SimulatorJSON, headers: [(String, String)] = [])
        async throws -> HTTPResult
    {
        try await send(
            method, url, headers: headers + [("Content-Type", "application/json")], body: Array(value.jsonString.utf8))
    }

    static func form(_ url: String, _ fields: [(String, String)]) async throws -> HTTPResult {
        let body = fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        return try await send(
            .POST, url, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
    }

    static func multipart(
        _ method: HTTPMethod = .POST, _ url: String, _ form: MultipartBuilder, headers: [(String, String)] = []
    )
        async throws -> HTTPResult
    {
        try await send(method, url, headers: headers + [("Content-Type", form.contentType)], body: form.body)
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// Builds multipart/form-data bodies the way HTTP client libraries do.
struct MultipartBuilder {
    let boundary = "----afx-test-\(UInt32.random(in: 0...UInt32.max))"
    private var parts: [[UInt8]] = []

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, _ value: String) {
        parts.append(Array("Content-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)".utf8))
    }

    mutating func file(_ name: String, filename: String, contentType: String, bytes: [UInt8]) {
        let head =
            "Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n"
            + "Content-Type: \(contentType)\r\n\r\n"
        parts.append(Array(head.utf8) + bytes)
    }

    var body: [UInt8] {
        var bytes: [UInt8] = []
        for part in parts {
            bytes += Array("--\(boundary)\r\n".utf8) + part + Array("\r\n".utf8)
        }
        bytes += Array("--\(boundary)--\r\n".utf8)
        return bytes
    }
}
