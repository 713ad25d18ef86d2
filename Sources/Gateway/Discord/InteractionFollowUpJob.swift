import DiscordAPI
import Forwarding
import Foundation
import JobQueue
import PostgresNIO

/// Work an interaction answered "later" to: `/status` (deferred) and a message forwarded from
/// the "Forward to…" menu. The job does it and edits the original response through the
/// interaction's token (valid 15 minutes, so retries stop well before).
struct InteractionFollowUpJob: JobHandler {
    enum Work: Codable, Sendable {
        case status
        case forward(channelID: Int64, messageID: Int64, pairID: Int64)
    }

    struct Payload: Codable, Sendable {
        var accountID: Int64
        var applicationID: String
        var token: String
        var work: Work
    }

    static let kind = "discord.interaction-followup"
    static let defaultRetryPolicy = RetryPolicy(maxAttempts: 6, base: .seconds(1), cap: .seconds(60))

    let runtime: ForwardingRuntime

    func handle(_ payload: Payload, context: JobContext) async throws {
        guard let target = try await runtime.accounts.discord(id: payload.accountID),
            case .bot(let token) = target.credential
        else { throw JobError.permanent("the Discord bot is no longer linked") }
        let content: String
        switch payload.work {
        case .status:
            content = try await status(userID: target.userID, accountID: target.id)
        case .forward(let channelID, let messageID, let pairID):
            content = try await forward(
                channelID: channelID, messageID: messageID, pairID: pairID, userID: target.userID, token: token)
        }
        do throws(DiscordError) {
            try await runtime.platforms.discord.editOriginalResponse(
                applicationID: payload.applicationID, interactionToken: payload.token,
                body: DiscordMessageBody(content: content))
        } catch {
            // The token expired (15 minutes) or the response was dismissed: nobody to tell.
            if error.status == 404 || error.status == 401 {
                throw JobError.permanent("the interaction can no longer be answered: \(error)")
            }
            throw error
        }
    }

    private func status(userID: Int64, accountID: Int64) async throws -> String {
        let pairRow = try await runtime.client.query(
            """
            SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'paused')
            FROM forwarding_pairs
            WHERE user_id = \(userID) AND (source_discord_account_id = \(accountID) OR dest_discord_account_id = \(accountID))
            """
        ).collect().first
        let (active, paused): (Int64, Int64) = try pairRow.map { try $0.decode((Int64, Int64).self) } ?? (0, 0)
        let logRow = try await runtime.client.query(
            """
            SELECT count(*) FILTER (WHERE outcome = 'delivered'), count(*) FILTER (WHERE outcome = 'failed')
            FROM message_logs WHERE user_id = \(userID) AND created_at > now() - interval '24 hours'
            """
        ).collect().first
        let (delivered, failed): (Int64, Int64) = try logRow.map { try $0.decode((Int64, Int64).self) } ?? (0, 0)
        let sessionRow = try await runtime.client.query(
            """
            SELECT lease_expires_at > now(), session_id IS NOT NULL FROM discord_gateway_sessions
            WHERE account_id = \(accountID)
            """
        ).collect().first
        let (leased, hasSession): (Bool, Bool) =
            try sessionRow.map { try $0.decode((Bool, Bool).self) } ?? (false, false)
        let gateway = leased ? (hasSession ? "connected" : "connecting") : "not running"
        return """
            **Pairs:** \(active) active, \(paused) paused
            **Last 24 h:** \(delivered) delivered, \(failed) failed
            **Gateway session:** \(gateway)
            """
    }

    private func forward(
        channelID: Int64, messageID: Int64, pairID: Int64, userID: Int64, token: DiscordAPI.DiscordToken
    ) async throws -> String {
        guard let pair = try await runtime.pairs.pair(id: pairID), pair.userID == userID else {
            return "That pair no longer exists."
        }
        let data = try await runtime.platforms.discord.message(
            channelID: String(channelID), messageID: String(messageID), token: token)
        let discord: DiscordGatewayMessage
        do {
            discord = try JSONDecoder.discord.decode(DiscordGatewayMessage.self, from: data)
        } catch {
            throw JobError.permanent("Discord's message does not decode: \(error)")
        }
        guard
            let message = MessageTransform.apply(
                pair.options, to: DiscordMessageMapper.message(from: discord, names: .init()))
        else { return "The pair's filters skip this message." }
        let payload = DeliverJob.Payload(
            pairID: pair.id, action: .create, sourceAccountID: pair.source.accountID, sourceChatID: channelID,
            sourceMessageID: messageID, message: message, receivedAt: Date().timeIntervalSince1970, albumKey: nil)
        _ = try await runtime.queue.enqueue(
            try NewJob(
                DeliverJob.self, payload,
                options: JobOptions(
                    lane: .high, uniqueKey: "on-demand:\(pair.id):\(messageID)", orderingKey: pair.orderingKey)))
        return "Forwarded to \(pair.name)."
    }
}
