/// A forwarding pair's options failed validation; `field` names the offending setting
/// (e.g. `regexReplacements[2].pattern`).
public struct PairOptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// A one-line message for the user, naming the field.
    public var message: String { "\(field): \(reason)" }
    public var description: String { message }
}
