/// One find-and-replace rule of a forwarding pair, applied with `NSRegularExpression`.
public struct RegexReplacement: Codable, Sendable, Equatable {
    /// ICU regular expression syntax.
    public var pattern: String
    /// Template: `$1` refers to a capture group, `\$` is a literal dollar sign.
    public var replacement: String
    public var caseInsensitive: Bool

    public init(pattern: String, replacement: String = "", caseInsensitive: Bool = false) {
        self.pattern = pattern
        self.replacement = replacement
        self.caseInsensitive = caseInsensitive
    }

    private enum CodingKeys: String, CodingKey {
        case pattern, replacement, caseInsensitive
    }

    /// Tolerates missing `replacement` and `caseInsensitive` (stored rules may predate them).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pattern = try container.decode(String.self, forKey: .pattern)
        replacement = try container.decodeIfPresent(String.self, forKey: .replacement) ?? ""
        caseInsensitive = try container.decodeIfPresent(Bool.self, forKey: .caseInsensitive) ?? false
    }
}
