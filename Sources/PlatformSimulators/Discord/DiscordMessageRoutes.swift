import Foundation

/// Creating, reading, editing and deleting messages through bot routes and webhook routes.
extension DiscordSimulator {
    /// How long a nonce sent with enforce_nonce keeps returning the message it created
    /// (Discord documents "the past few minutes").
    static let nonceWindow: TimeInterval = 5 * 60

    struct Author {
        var id: String
        var webhookID: String?
        var username: String?
        var avatarURL: String?
    }

    func createChannelMessage(bot: DiscordState.Bot, channelID: String, request: SimulatorRequest)
        throws(DiscordAPIError) -> SimulatorResponse
    {
        try state.withLock { state throws(DiscordAPIError) in
            guard state.channels[channelID] != nil else { throw .unknownChannel }
            if state.denied.contains(.init(token: bot.token, channelID: channelID)) { throw .missingPermissions }
        }
        let payload = try DiscordMessagePayload(request: request)
        let json = try create(payload, channelID: channelID, author: Author(id: bot.userID), isWebhook: false)
        return .json(200, json)
    }

    func executeWebhook(_ webhook: DiscordState.Webhook, request: SimulatorRequest) throws(DiscordAPIError)
        -> SimulatorResponse
    {
        let wait = request.queryValue("wait")?.lowercased() == "true"
        var channelID = webhook.channelID
        if let threadID = request.queryValue("thread_id"), !threadID.isEmpty {
            let isThread = state.withLock { $0.channels[threadID]?.parentID == webhook.channelID }
            guard isThread else { throw .unknownChannel }
            channelID = threadID
        }
        let payload = try DiscordMessagePayload(request: request)
        let author = Author(
            id: webhook.id, webhookID: webhook.id, username: payload.fields["username"]?.stringValue,
            avatarURL: payload.fields["avatar_url"]?.stringValue)
        let json = try create(payload, channelID: channelID, author: author, isWebhook: true)
        // Without wait=true Discord answers 204 and the caller never learns the message id.
        return wait ? .json(200, json) : SimulatorResponse(status: 204)
    }

    func channelMessage(
        bot: DiscordState.Bot, channelID: String, messageID: String, method: String, request: SimulatorRequest
    ) throws(DiscordAPIError) -> SimulatorResponse {
        let payload = method == "PATCH" ? try DiscordMessagePayload(request: request) : nil
        return try state.withLock { state throws(DiscordAPIError) in
            guard state.channels[channelID] != nil else { throw .unknownChannel }
            guard var message = state.messages[messageID], message.channelID == channelID, !message.deleted else {
                throw .unknownMessage
            }
            let own = message.authorID == bot.userID && message.webhookID == nil
            switch method {
            case "PATCH":
                guard own else { throw .editOthersMessage }
                try applyEdit(payload ?? DiscordMessagePayload.empty, to: &message, in: &state)
                return .json(200, messageJSON(message, in: state))
            case "DELETE":
                // Deleting other people's messages needs MANAGE_MESSAGES, which bots here lack.
                guard own else { throw .missingPermissions }
                message.deleted = true
                state.store(message)
                return SimulatorResponse(status: 204)
            default:
                return .json(200, messageJSON(message, in: state))
            }
        }
    }

    func webhookMessage(_ webhook: DiscordState.Webhook, messageID: String, method: String, request: SimulatorRequest)
        throws(DiscordAPIError) -> SimulatorResponse
    {
        let payload = method == "PATCH" ? try DiscordMessagePayload(request: request) : nil
        return try state.withLock { state throws(DiscordAPIError) in
            guard var message = state.messages[messageID], message.webhookID == webhook.id, !message.deleted else {
                throw .unknownMessage
            }
            switch method {
            case "PATCH":
                try applyEdit(payload ?? DiscordMessagePayload.empty, to: &message, in: &state)
                return .json(200, messageJSON(message, in: state))
            case "DELETE":
                message.deleted = true
                state.store(message)
                return SimulatorResponse(status: 204)
            default:
                return .json(200, messageJSON(message, in: state))
            }
        }
    }

    /// Validates and stores a new message; returns its JSON (or the earlier message's JSON when
    /// enforce_nonce finds the nonce already used).
    private func create(_ payload: DiscordMessagePayload, channelID: String, author: Author, isWebhook: Bool)
        throws(DiscordAPIError) -> SimulatorJSON
    {
        let errors = payload.validate(isWebhook: isWebhook)
        if !errors.isEmpty { throw .invalidForm(errors) }
        let content = payload.fields["content"]?.stringValue ?? ""
        let embeds = payload.fields["embeds"]?.arrayValue ?? []
        let stickers = (payload.fields["sticker_ids"]?.arrayValue ?? []).compactMap(DiscordMessagePayload.snowflake)
        if content.isEmpty && embeds.isEmpty && payload.uploads.isEmpty && stickers.isEmpty {
            throw .emptyMessage
        }
        let nonce = payload.fields["nonce"].flatMap { $0.isNull ? nil : $0 }
        let enforceNonce = payload.bool("enforce_nonce")
        return try state.withLock { state throws(DiscordAPIError) in
            let reference = try resolveReference(payload.fields["message_reference"], channelID: channelID, in: state)
            let now = state.now
            var nonceKey: DiscordState.NonceKey?
            if enforceNonce, let nonce {
                let key = DiscordState.NonceKey(
                    authorID: author.id, channelID: channelID, nonce: nonce.stringValue ?? nonce.jsonString)
                if let earlier = state.nonces[key], now.timeIntervalSince(earlier.at) < Self.nonceWindow,
                    let existing = state.messages[earlier.messageID]
                {
                    return messageJSON(existing, in: state)
                }
                nonceKey = key
            }
            let id = state.snowflakes.next(at: now)
            let message = PostedMessage(
                id: id, channelID: channelID, authorID: author.id, content: content, username: author.username,
                avatarURL: author.avatarURL, webhookID: author.webhookID,
                attachments: makeAttachments(
                    payload.uploads, keep: [], payload: payload, channelID: channelID, in: &state),
                embeds: embeds, messageReference: reference, nonce: nonce, enforceNonce: enforceNonce,
                allowedMentions: payload.fields["allowed_mentions"], stickerIDs: stickers, tts: payload.bool("tts"),
                flags: Int(
                    payload.fields["flags"].flatMap { $0.intValue ?? $0.stringValue.flatMap { Int64($0) } } ?? 0),
                timestamp: now, editedTimestamp: nil, edits: [], deleted: false, isInjected: false)
            state.store(message)
            if let nonceKey { state.nonces[nonceKey] = (id, now) }
            return messageJSON(message, in: state)
        }
    }

    /// The reply target; an unknown one fails unless fail_if_not_exists is false (then dropped).
    private func resolveReference(_ json: SimulatorJSON?, channelID: String, in state: DiscordState)
        throws(DiscordAPIError) -> MessageReference?
    {
        guard let json, !json.isNull, let messageID = json["message_id"].flatMap(DiscordMessagePayload.snowflake)
        else { return nil }
        let referenceChannel = json["channel_id"].flatMap(DiscordMessagePayload.snowflake) ?? channelID
        let failIfNotExists = json["fail_if_not_exists"]?.boolValue
        var errors = DiscordFormErrors()
        if referenceChannel != channelID {
            errors.add(
                ["message_reference"], code: "REPLIES_CANNOT_REFERENCE_OTHER_CHANNEL",
                message: "Cannot reply to a message in a different channel")
            throw .invalidForm(errors)
        }
        if let target = state.messages[messageID], target.channelID == channelID, !target.deleted {
            return MessageReference(
                messageID: messageID, channelID: channelID, guildID: state.channels[channelID]?.guildID,
                failIfNotExists: failIfNotExists)
        }
        if failIfNotExists == false { return nil }
        errors.add(["message_reference"], code: "REPLIES_UNKNOWN_MESSAGE", message: "Unknown message")
        throw .invalidForm(errors)
    }

    /// Attachments after a create or edit: `keep` (existing ones the client listed) followed by
    /// the uploads, named after their attachments[] metadata when it gives a filename.
    private func makeAttachments(
        _ uploads: [DiscordUpload], keep: [Attachment], payload: DiscordMessagePayload, channelID: String,
        in state: inout DiscordState
    ) -> [Attachment] {
        let metadata = payload.fields["attachments"]?.arrayValue ?? []
        var result = keep
        for upload in uploads.sorted(by: { $0.index < $1.index }) {
            let meta = metadata.first { $0["id"].flatMap(DiscordMessagePayload.snowflake) == String(upload.index) }
            let filename = meta?["filename"]?.stringValue ?? upload.filename
            let id = state.snowflakes.next(at: state.now)
            let contentType =
                upload.contentType.flatMap { $0 == "application/octet-stream" ? nil : $0 }
                ?? Self.guessContentType(filename)
            result.append(
                Attachment(
                    id: id, filename: filename, size: upload.bytes.count, contentType: contentType,
                    description: meta?["description"]?.stringValue, bytes: Data(upload.bytes),
                    url: "\(state.baseURL)/attachments/\(channelID)/\(id)/\(FormURLEncoding.percentEncode(filename))"))
        }
        return result
    }

    private func applyEdit(
        _ payload: DiscordMessagePayload, to message: inout PostedMessage, in state: inout DiscordState
    )
        throws(DiscordAPIError)
    {
        let errors = payload.validate(isWebhook: false)
        if !errors.isEmpty { throw .invalidForm(errors) }
        var updated = message
        if payload.has("content") { updated.content = payload.fields["content"]?.stringValue ?? "" }
        if payload.has("embeds") { updated.embeds = payload.fields["embeds"]?.arrayValue ?? [] }
        if payload.has("allowed_mentions") { updated.allowedMentions = payload.fields["allowed_mentions"] }
        if let flags = payload.fields["flags"]?.intValue { updated.flags = Int(flags) }
        var uploads = payload.uploads
        var keep = message.attachments
        if let listed = payload.fields["attachments"]?.arrayValue {
            // API v10: the list names every attachment that stays, new uploads included.
            let ids = Set(listed.compactMap { $0["id"].flatMap(DiscordMessagePayload.snowflake) })
            keep = message.attachments.filter { ids.contains($0.id) }
            uploads = uploads.filter { ids.contains(String($0.index)) }
        }
        updated.attachments = makeAttachments(
            uploads, keep: keep, payload: payload, channelID: message.channelID, in: &state)
        if updated.content.isEmpty && updated.embeds.isEmpty && updated.attachments.isEmpty
            && updated.stickerIDs.isEmpty
        {
            throw .emptyMessage
        }
        updated.edits.append(
            Edit(
                content: message.content, embeds: message.embeds, attachments: message.attachments,
                replacedAt: state.now))
        updated.editedTimestamp = state.now
        state.store(updated)
        message = updated
    }
}

extension DiscordMessagePayload {
    static let empty = DiscordMessagePayload()

    private init() {}
}
