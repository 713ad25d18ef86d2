import Foundation

/// sendPhoto/Video/Document/Audio/Voice/Animation/Sticker and sendMediaGroup. Media arrive as a
/// file_id, an http(s) URL (recorded, never fetched: the simulator stays offline), a multipart
/// file in the media field itself, or "attach://<part>" naming a multipart part.
extension TelegramSimulator {
    static let maxUploadSize = 50 * 1024 * 1024

    enum MediaSource {
        case fileID(String)
        case url(String)
        case upload(MultipartPart)
    }

    func sendMedia(_ call: TelegramCall, kind: MessageKind) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        let field = kind.rawValue
        return try state.withLock { state throws(TelegramAPIError) in
            let chatID = try state.targetChat(try params.chatIdentifier(), token: call.token)
            let replyTo = try resolveReply(params, chatID: chatID, in: state)
            let source = try mediaSource(
                value: params.string(field), part: params.files[field], params: params, in: state)
            guard let source else { throw .badRequest("there is no \(field) in the request") }
            var message = newMessage(call, chatID: chatID, kind: kind, in: &state)
            if kind != .sticker {
                try applyCaption(
                    to: &message, caption: params.string("caption"), parseMode: params.string("parse_mode"),
                    entities: try params.json("caption_entities"))
            }
            message.replyToMessageID = replyTo
            attach(source, kind: kind, to: &message, in: &state)
            state.store(message)
            return messageJSON(message, in: state)
        }
    }

    func sendMediaGroup(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        let params = call.params
        return try state.withLock { state throws(TelegramAPIError) in
            let chatID = try state.targetChat(try params.chatIdentifier(), token: call.token)
            let replyTo = try resolveReply(params, chatID: chatID, in: state)
            guard let media = try params.json("media") else { throw .badRequest("parameter \"media\" is required") }
            guard let items = media.arrayValue else { throw .badRequest("can't parse media JSON object") }
            guard (2...10).contains(items.count) else { throw .badRequest("wrong number of media") }

            // Validate every item before creating any message, as the real call is all-or-nothing.
            var prepared:
                [(kind: MessageKind, source: MediaSource, caption: FormattedText?, raw: String?, mode: String?)] =
                    []
            for item in items {
                guard case .object = item, let type = item["type"]?.stringValue else {
                    throw .badRequest("can't parse InputMedia JSON object")
                }
                guard let kind = MessageKind(rawValue: type), [.photo, .video, .document, .audio].contains(kind) else {
                    throw .badRequest("unsupported media type \"\(type)\"")
                }
                guard
                    let source = try mediaSource(
                        value: item["media"]?.stringValue, part: nil, params: params, in: state)
                else { throw .badRequest("there is no media in the request") }
                var caption: FormattedText?
                let raw = item["caption"]?.stringValue
                let mode = item["parse_mode"]?.stringValue
                if let raw {
                    let formatted = try TelegramTextInput.resolve(
                        text: raw, parseMode: mode, entities: item["caption_entities"])
                    try Self.checkCaption(formatted)
                    caption = formatted
                }
                prepared.append((kind, source, caption, raw, mode))
            }
            let kinds = Set(prepared.map(\.kind))
            if kinds.contains(.document) && kinds.count > 1 {
                throw .badRequest("document can't be mixed with other media types")
            }
            if kinds.contains(.audio) && kinds.count > 1 {
                throw .badRequest("audio can't be mixed with other media types")
            }

            let groupID = String(13_000_000_000_000_000 + state.nextMediaGroupNumber)
            state.nextMediaGroupNumber += 1
            var results: [SimulatorJSON] = []
            for item in prepared {
                var message = newMessage(call, chatID: chatID, kind: item.kind, in: &state)
                message.text = item.caption?.text
                message.entities = item.caption?.entities ?? []
                message.rawText = item.raw
                message.parseMode = item.mode
                message.mediaGroupID = groupID
                message.replyToMessageID = replyTo
                attach(item.source, kind: item.kind, to: &message, in: &state)
                state.store(message)
                results.append(messageJSON(message, in: state))
            }
            return .array(results)
        }
    }

    /// Where the media comes from, or nil when the request names none.
    func mediaSource(value: String?, part: MultipartPart?, params: TelegramParameters, in state: TelegramState)
        throws(TelegramAPIError) -> MediaSource?
    {
        if let part { return .upload(try checkedUpload(part)) }
        guard let value = value?.trimmingASCIISpaces(), !value.isEmpty else { return nil }
        if value.hasPrefix("attach://") {
            let name = String(value.dropFirst("attach://".count))
            guard let attached = params.files[name] else { throw .badRequest("file \"attach://\(name)\" not found") }
            return .upload(try checkedUpload(attached))
        }
        let lower = value.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return .url(value) }
        guard state.files[value] != nil || value.hasPrefix("file-") else {
            throw .badRequest("wrong file identifier/HTTP URL specified")
        }
        return .fileID(value)
    }

    private func checkedUpload(_ part: MultipartPart) throws(TelegramAPIError) -> MultipartPart {
        if part.body.isEmpty { throw .badRequest("file must be non-empty") }
        if part.body.count > Self.maxUploadSize {
            throw TelegramAPIError(code: 413, description: "Request Entity Too Large")
        }
        return part
    }

    private func applyCaption(
        to message: inout SentMessage, caption: String?, parseMode: String?, entities: SimulatorJSON?
    ) throws(TelegramAPIError) {
        guard let caption else { return }
        let formatted = try TelegramTextInput.resolve(text: caption, parseMode: parseMode, entities: entities)
        try Self.checkCaption(formatted)
        message.text = formatted.text
        message.entities = formatted.entities
        message.rawText = caption
        message.parseMode = parseMode
    }

    /// Records the media on the message; uploads and URLs get a new file_id as on Telegram.
    private func attach(
        _ source: MediaSource, kind: MessageKind, to message: inout SentMessage, in state: inout TelegramState
    ) {
        switch source {
        case .fileID(let fileID):
            message.fileReference = fileID
            message.fileID = fileID
        case .url(let url):
            message.fileReference = url
            let name = url.split(separator: "/").last.map(String.init)
            message.fileID = state.registerFile(bytes: Data(), kind: kind, fileName: name, mimeType: nil)
        case .upload(let part):
            let bytes = Data(part.body)
            message.upload = Upload(filename: part.filename, contentType: part.contentType, bytes: bytes)
            message.fileID = state.registerFile(
                bytes: bytes, kind: kind, fileName: part.filename.flatMap { $0.isEmpty ? nil : $0 },
                mimeType: part.contentType)
        }
    }
}
