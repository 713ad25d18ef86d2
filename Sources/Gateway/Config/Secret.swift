/// A value that must never reach a log, an error body or `afx config check`.
public struct Secret<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: Value

    public init(_ value: Value) { self.value = value }

    public var description: String { "***" }
    public var debugDescription: String { "***" }
}

extension Secret: Equatable where Value: Equatable {}
