/// One attachment of a message.
public struct Media: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case photo, video, document, audio, voice, animation, sticker
    }

    public var kind: Kind
    /// A platform reference: a Telegram `file_id`, or a Discord attachment URL.
    public var fileID: String
    public var fileName: String?
    public var mimeType: String?
    /// Size in bytes, when the platform reports it.
    public var size: Int?

    public init(kind: Kind, fileID: String, fileName: String? = nil, mimeType: String? = nil, size: Int? = nil) {
        self.kind = kind
        self.fileID = fileID
        self.fileName = fileName
        self.mimeType = mimeType
        self.size = size
    }
}
