import Foundation

/// getFile and the file download endpoint `/file/bot<token>/<file_path>`.
extension TelegramSimulator {
    /// The Bot API refuses to hand out files larger than this.
    static let maxDownloadSize = 20 * 1024 * 1024

    func getFile(_ call: TelegramCall) throws(TelegramAPIError) -> SimulatorJSON {
        guard let fileID = call.params.string("file_id"), !fileID.isEmpty else { throw .badRequest("file_id is empty") }
        return try state.withLock { state throws(TelegramAPIError) in
            guard let file = state.files[fileID] else { throw .badRequest("invalid file_id") }
            if file.size > Self.maxDownloadSize { throw .badRequest("file is too big") }
            return [
                "file_id": .string(file.fileID), "file_unique_id": .string(file.uniqueID),
                "file_size": .int(Int64(file.size)), "file_path": .string(file.path),
            ]
        }
    }

    func downloadFile(token: String, path: String) -> SimulatorResponse {
        let bytes = state.withLock { state -> Data? in
            guard state.bots[token] != nil, let fileID = state.filesByPath[path], let file = state.files[fileID],
                file.size <= Self.maxDownloadSize
            else { return nil }
            return file.bytes
        }
        guard let bytes else { return TelegramAPIError.notFound.response }
        return .bytes(200, contentType: "application/octet-stream", Array(bytes))
    }
}
