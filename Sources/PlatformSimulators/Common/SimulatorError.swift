/// Misuse of a simulator's setup API (unknown chat, starting twice, …), or a failed delivery.
public struct SimulatorError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
