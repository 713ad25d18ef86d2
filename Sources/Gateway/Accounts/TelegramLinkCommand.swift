import Foundation
import Logging
import Store
import TelegramBotAPI

/// `/link CODE` sent to a user's bot in a private chat: proves which Telegram account is theirs,
/// so sign-in codes can be sent to it. The code must come from the owner of the bot.
struct TelegramLinkCommand {
    let runtime: ForwardingRuntime

    /// True when the message was a /link command (answered, whatever the outcome).
    static func isLink(_ message: TelegramMessage) -> Bool {
        message.chat.type == "private" && (message.text?.hasPrefix("/link") ?? false)
    }

    func handle(_ message: TelegramMessage, botAccountID: Int64, logger: Logger) async throws {
        guard let bot = try await runtime.accounts.telegram(id: botAccountID), let from = message.from else { return }
        let code = message.text?.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let reply: String
        if let userID = try await LoginCodeRepository(client: runtime.client).consumeLink(
            codeHash: OneTimeCodeController.linkHash(code)), userID == bot.userID
        {
            do {
                try await UserRepository(client: runtime.client).setTelegramUserID(id: userID, telegramUserID: from.id)
                reply = "Linked: AutoForwardX can now send your sign-in codes here."
            } catch StoreError.duplicate {
                reply = "This Telegram account is already linked to another AutoForwardX account."
            }
        } else {
            reply = "That code is not valid. Create a new one in AutoForwardX and send /link CODE within 15 minutes."
        }
        do {
            _ = try await runtime.platforms.telegram.sendMessage(
                SendMessage(chatId: message.chat.id, text: reply, parseMode: nil), token: bot.token)
        } catch {
            logger.notice("the /link reply was not delivered", metadata: ["error": "\(error)"])
        }
    }
}
