public import Foundation

/// A JSON value that is `Sendable` and `Hashable`, so recorded payloads (embeds, allowed mentions,
/// updates) can sit in the simulators' locked state and be compared in tests. The simulators parse
/// and print it themselves instead of using JSONSerialization, whose number/bool bridging differs
/// between platforms and would blur the difference between `1`, `1.0` and `true` on the wire.
public enum SimulatorJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([SimulatorJSON])
    case object([String: SimulatorJSON])

    /// Parses UTF-8 JSON text (RFC 8259; a top-level scalar is accepted).
    public init(parsing data: Data) throws {
        var parser = JSONTextParser(bytes: Array(data))
        self = try parser.parseDocument()
    }

    public init(parsing text: String) throws {
        var parser = JSONTextParser(bytes: Array(text.utf8))
        self = try parser.parseDocument()
    }

    /// Converts the output of JSONSerialization or a `[String: Any]` literal.
    public init(any value: Any) throws {
        switch value {
        case let json as SimulatorJSON: self = json
        case is NSNull: self = .null
        case let bool as Bool where type(of: value) == Bool.self: self = .bool(bool)
        case let string as String: self = .string(string)
        case let int as Int: self = .int(Int64(int))
        case let int as Int64: self = .int(int)
        case let int as Int32: self = .int(Int64(int))
        case let double as Double: self = .double(double)
        case let array as [Any]: self = .array(try array.map { try SimulatorJSON(any: $0) })
        case let object as [String: Any]: self = .object(try object.mapValues { try SimulatorJSON(any: $0) })
        case let number as NSNumber:
            // Bridged NSNumbers (from JSONSerialization) carry their kind only in objCType.
            let kind = String(cString: number.objCType)
            if kind == "c" || kind == "B" {
                self = .bool(number.boolValue)
            } else if kind == "d" || kind == "f" {
                self = .double(number.doubleValue)
            } else {
                self = .int(number.int64Value)
            }
        default:
            throw SimulatorError("not representable as JSON: \(type(of: value))")
        }
    }

    public subscript(key: String) -> SimulatorJSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public subscript(index: Int) -> SimulatorJSON? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Integers, and doubles that hold an integral value (some clients send `1.0`).
    public var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.0e18: return Int64(value)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var arrayValue: [SimulatorJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: SimulatorJSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// Compact JSON text with object keys sorted, so equal values always print the same.
    public var jsonString: String {
        var output = ""
        write(to: &output)
        return output
    }

    public var jsonData: Data { Data(jsonString.utf8) }

    /// The value as Foundation objects, for code that wants `[String: Any]`.
    public var anyValue: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let value): return value
        case .int(let value): return value
        case .double(let value): return value
        case .string(let value): return value
        case .array(let value): return value.map(\.anyValue)
        case .object(let value): return value.mapValues(\.anyValue)
        }
    }

    private func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += value.isFinite ? String(value) : "null"
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                Self.writeString(key, to: &output)
                output += ":"
                members[key]?.write(to: &output)
            }
            output += "}"
        }
    }

    private static func writeString(_ value: String, to output: inout String) {
        output += "\""
        // Most strings need no escape: appended whole rather than scalar by scalar.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output += value
            output += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension SimulatorJSON: CustomStringConvertible {
    public var description: String { jsonString }
}

extension SimulatorJSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: SimulatorJSON...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, SimulatorJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension SimulatorJSON {
    /// `.string` for a non-nil value, else `.null`; keeps the response builders short.
    static func optional(_ value: String?) -> SimulatorJSON { value.map { .string($0) } ?? .null }
}
