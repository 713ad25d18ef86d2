/// One direction of forwarding: every message posted in the source chat is copied to the
/// destination chat, through the given bot accounts, with the pair's options.
public struct Pair: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case active, paused
    }

    /// A chat on a platform, reached through one of the user's linked accounts.
    public struct Endpoint: Sendable, Equatable, Hashable, Codable {
        public var platform: Platform
        public var accountID: Int64
        public var chatID: Int64

        public init(platform: Platform, accountID: Int64, chatID: Int64) {
            self.platform = platform
            self.accountID = accountID
            self.chatID = chatID
        }
    }

    public var id: Int64
    public var userID: Int64
    public var name: String
    public var source: Endpoint
    public var destination: Endpoint
    public var status: Status
    public var pausedReason: String?
    public var delaySeconds: Int
    public var options: PairOptions

    public init(
        id: Int64, userID: Int64, name: String = "", source: Endpoint, destination: Endpoint, status: Status = .active,
        pausedReason: String? = nil, delaySeconds: Int = 0, options: PairOptions = PairOptions()
    ) {
        self.id = id
        self.userID = userID
        self.name = name
        self.source = source
        self.destination = destination
        self.status = status
        self.pausedReason = pausedReason
        self.delaySeconds = delaySeconds
        self.options = options
    }

    /// Jobs of one pair run in order: message 2 never overtakes message 1.
    public var orderingKey: String { "pair:\(id)" }
}
