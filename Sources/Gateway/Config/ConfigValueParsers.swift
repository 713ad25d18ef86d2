import Foundation

/// Parsers for setting values as people write them: `30s`, `1MiB`, `true`, CIDR lists. Each
/// throws the sentence that follows the key in a `ConfigurationError`.
enum ConfigValue {
    struct Invalid: Error {
        let expected: String
    }

    static func int(_ text: String, in range: ClosedRange<Int>) throws(Invalid) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw Invalid(expected: "expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func bool(_ text: String) throws(Invalid) -> Bool {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw Invalid(expected: "expected true or false")
        }
    }

    /// `250ms`, `30s`, `5m`, `24h`, `7d`, or a bare number of seconds.
    static func duration(_ text: String, in range: ClosedRange<Duration>) throws(Invalid) -> Duration {
        let invalid = Invalid(
            expected:
                "expected a duration such as 500ms, 30s, 5m, 24h or 7d (\(describe(range.lowerBound)) to \(describe(range.upperBound)))"
        )
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var number = trimmed
        var scale = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = String(trimmed.dropLast(suffix.count))
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { throw invalid }
        let duration = Duration.milliseconds(Int64((value * scale * 1000).rounded()))
        guard range.contains(duration) else { throw invalid }
        return duration
    }

    /// `1048576`, `512KiB`, `1MiB`, `10MB`.
    static func byteSize(_ text: String, in range: ClosedRange<Int>) throws(Invalid) -> Int {
        let invalid = Invalid(
            expected: "expected a size such as 65536, 512KiB or 1MiB (\(range.lowerBound) to \(range.upperBound) bytes)"
        )
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("B", 1),
        ]
        var number = trimmed
        var scale = 1
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = String(trimmed.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            scale = factor
            break
        }
        guard let value = Int(number), value >= 0 else { throw invalid }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow, range.contains(bytes) else { throw invalid }
        return bytes
    }

    static func oneOf<T: RawRepresentable>(_ text: String, _ cases: [T]) throws(Invalid) -> T
    where T.RawValue == String {
        guard let value = T(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw Invalid(expected: "expected one of " + cases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    static func networks(_ items: [String]) throws(Invalid) -> [IPNetwork] {
        var networks: [IPNetwork] = []
        for item in items.map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let network = IPNetwork(item) else {
                throw Invalid(expected: "\"\(item)\" is not an IP address or CIDR block such as 10.0.0.0/8 or ::1")
            }
            networks.append(network)
        }
        return networks
    }

    /// `high=6,medium=3,low=1` (each at least 1).
    static func laneWeights(_ text: String) throws(Invalid) -> [Int] {
        let invalid = Invalid(expected: "expected weights such as high=6,medium=3,low=1 (each 1 to 1000)")
        var weights: [String: Int] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let weight = Int(pair[1]), (1...1000).contains(weight) else { throw invalid }
            weights[pair[0].lowercased()] = weight
        }
        guard let high = weights["high"], let medium = weights["medium"], let low = weights["low"], weights.count == 3
        else { throw invalid }
        return [high, medium, low]
    }

    static func url(_ text: String) throws(Invalid) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let url = URL(string: trimmed), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw Invalid(expected: "expected an absolute http(s) URL")
        }
        return String(trimmed.trimmingSuffix("/"))
    }

    /// A positive rate; large values effectively lift the limit (tests, local Bot API servers).
    static func rate(_ text: String) throws(Invalid) -> Double {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
            throw Invalid(expected: "expected a positive number")
        }
        return value
    }

    static func describe(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 86_400_000 == 0 && ms > 0 { return "\(ms / 86_400_000)d" }
        if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}
