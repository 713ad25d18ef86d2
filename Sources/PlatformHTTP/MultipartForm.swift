import Foundation

/// A `multipart/form-data` body, for uploads to Telegram and Discord.
public struct MultipartForm: Sendable {
    public struct Part: Sendable {
        public let name: String
        public let filename: String?
        public let contentType: String?
        public let data: Data
    }

    public let boundary: String
    public private(set) var parts: [Part] = []

    public init(boundary: String = "afx-" + UUID().uuidString) {
        self.boundary = boundary
    }

    public mutating func add(name: String, value: String) {
        parts.append(Part(name: name, filename: nil, contentType: nil, data: Data(value.utf8)))
    }

    public mutating func add(name: String, json: Data) {
        parts.append(Part(name: name, filename: nil, contentType: "application/json", data: json))
    }

    public mutating func add(name: String, filename: String, contentType: String?, data: Data) {
        parts.append(
            Part(name: name, filename: filename, contentType: contentType ?? "application/octet-stream", data: data))
    }

    public var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    public var body: Data {
        var body = Data()
        for part in parts {
            body.append(Data("--\(boundary)\r\n".utf8))
            var disposition = "Content-Disposition: form-data; name=\"\(Self.quoted(part.name))\""
            if let filename = part.filename { disposition += "; filename=\"\(Self.quoted(filename))\"" }
            body.append(Data("\(disposition)\r\n".utf8))
            if let contentType = part.contentType { body.append(Data("Content-Type: \(contentType)\r\n".utf8)) }
            body.append(Data("\r\n".utf8))
            body.append(part.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return body
    }

    /// Quotes and CR/LF cannot appear inside a quoted header parameter.
    static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "")
            .replacingOccurrences(of: "\n", with: "")
    }
}
