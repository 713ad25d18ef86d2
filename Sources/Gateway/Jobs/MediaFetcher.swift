import AsyncHTTPClient
import Forwarding
import Foundation
import PlatformHTTP
import TelegramBotAPI

/// Fetches a message's media bytes for re-upload: a Telegram file through the source bot (the
/// file URL carries its token and never leaves this process), a Discord attachment by its URL.
struct MediaFetcher: Sendable {
    let delivery: Delivery

    struct Fetched: Sendable {
        let media: Media
        let data: Data
    }

    enum Outcome: Sendable {
        case fetched(Fetched)
        /// Over the destination's (or getFile's 20 MB) limit: the copy says so instead.
        case tooLarge(Media, size: Int)
    }

    /// Telegram's getFile serves at most 20 MB.
    static let telegramDownloadLimit = 20_000_000

    func fetch(_ media: Media, limit: Int) async throws -> Outcome {
        if let size = media.size, size > min(limit, Self.telegramDownloadLimit) {
            return .tooLarge(media, size: size)
        }
        let data: Data
        switch delivery.pair.source.platform {
        case .telegram:
            guard let bot = try await delivery.runtime.accounts.telegram(id: delivery.pair.source.accountID) else {
                throw DeliveryError(description: "the source Telegram bot is no longer linked")
            }
            let file = try await delivery.runtime.platforms.telegram.getFile(fileID: media.fileID, token: bot.token)
            guard let path = file.filePath else { return .tooLarge(media, size: file.fileSize ?? limit + 1) }
            data = try await delivery.runtime.platforms.telegram.download(filePath: path, token: bot.token)
        case .discord:
            var request = HTTPClientRequest(url: media.fileID)
            request.method = .GET
            let exchange = try await HTTPExchange.send(
                request, on: delivery.runtime.platforms.http, timeout: delivery.runtime.configuration.requestTimeout,
                maxBytes: limit + 1)
            guard exchange.status == 200 else {
                throw DeliveryError(description: "the Discord attachment answered HTTP \(exchange.status)")
            }
            data = exchange.body
        }
        guard data.count <= limit else { return .tooLarge(media, size: data.count) }
        return .fetched(Fetched(media: media, data: data))
    }

    /// The line a copy carries for media that could not travel.
    static func tooLargeLine(_ media: Media, size: Int, limit: Int) -> String {
        let name = media.fileName ?? media.kind.rawValue
        return "📎 \(name) (\(megabytes(size))) is too large to forward here (limit \(megabytes(limit)))."
    }

    static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }
}
