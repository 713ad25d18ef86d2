/// One part of a `multipart/form-data` body (RFC 7578).
struct MultipartPart: Sendable {
    var name: String
    /// Present for file parts; an empty filename still marks the part as a file, as browsers send it.
    var filename: String?
    var contentType: String?
    var body: [UInt8]

    var isFile: Bool { filename != nil }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A small multipart/form-data reader. It is strict about structure (missing boundary, missing
/// closing delimiter, parts without a name) because the real APIs answer those with 400.
enum MultipartFormData {
    static func parse(_ body: [UInt8], boundary: String) throws(SimulatorError) -> [MultipartPart] {
        guard !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw SimulatorError("multipart boundary is missing or too long")
        }
        let dashBoundary = Array("--\(boundary)".utf8)
        let delimiter = [13, 10] + dashBoundary
        // The first delimiter may start the body without the leading CRLF (the preamble is empty).
        var position: Int
        if body.starts(with: dashBoundary) {
            position = dashBoundary.count
        } else if let found = find(delimiter, in: body, from: 0) {
            position = found + delimiter.count
        } else {
            throw SimulatorError("multipart body has no boundary delimiter")
        }
        var parts: [MultipartPart] = []
        while true {
            if body.count - position >= 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-")
            {
                return parts
            }
            while position < body.count, body[position] == 0x20 || body[position] == 0x09 { position += 1 }
            guard body.count - position >= 2, body[position] == 13, body[position + 1] == 10 else {
                throw SimulatorError("multipart delimiter is not followed by CRLF")
            }
            position += 2
            let headerBytes: ArraySlice<UInt8>
            let contentStart: Int
            if body.count - position >= 2, body[position] == 13, body[position + 1] == 10 {
                headerBytes = []
                contentStart = position + 2
            } else if let headerEnd = find([13, 10, 13, 10], in: body, from: position) {
                headerBytes = body[position..<headerEnd]
                contentStart = headerEnd + 4
            } else {
                throw SimulatorError("multipart part headers are not terminated")
            }
            guard let contentEnd = find(delimiter, in: body, from: contentStart) else {
                throw SimulatorError("multipart body has no closing delimiter")
            }
            parts.append(try makePart(headers: headerBytes, content: Array(body[contentStart..<contentEnd])))
            position = contentEnd + delimiter.count
        }
    }

    private static func makePart(headers: ArraySlice<UInt8>, content: [UInt8]) throws(SimulatorError) -> MultipartPart {
        var disposition: HeaderValue?
        var contentType: String?
        let text = String(decoding: headers, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingASCIISpaces().lowercased()
            let value = String(line[line.index(after: colon)...])
            if name == "content-disposition" {
                disposition = HeaderValue(parsing: value)
            } else if name == "content-type" {
                contentType = value.trimmingASCIISpaces()
            }
        }
        guard let disposition, disposition.value == "form-data", let name = disposition.parameters["name"] else {
            throw SimulatorError("multipart part without Content-Disposition: form-data; name=…")
        }
        var filename = disposition.parameters["filename"]
        // RFC 5987 `filename*=UTF-8''…` wins over the plain form when both are present.
        if let extended = disposition.parameters["filename*"], let quote = extended.range(of: "''") {
            filename = FormURLEncoding.percentDecode(Array(extended[quote.upperBound...].utf8), plusAsSpace: false)
        }
        return MultipartPart(name: name, filename: filename, contentType: contentType, body: content)
    }

    /// First index of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, haystack.count - start >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay -> Int? in
            needle.withUnsafeBufferPointer { pattern -> Int? in
                var index = start
                let last = hay.count - pattern.count
                while index <= last {
                    if hay[index] == first {
                        var matched = true
                        var offset = 1
                        while offset < pattern.count {
                            if hay[index + offset] != pattern[offset] {
                                matched = false
                                break
                            }
                            offset += 1
                        }
                        if matched { return index }
                    }
                    index += 1
                }
                return nil
            }
        }
    }
}
