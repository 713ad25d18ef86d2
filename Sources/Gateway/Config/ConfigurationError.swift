/// A setting that is missing or malformed. Its description is the one line `afx` prints before
/// exiting: the key, where it can be set, and what is expected — never the value of a secret.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String {
        let env = SettingKey.environmentName(for: key)
        return "configuration error: \(key) (\(env)): \(message)"
    }
}

enum SettingKey {
    /// `server.bodyLimit` → `AFX_SERVER_BODY_LIMIT`, matching swift-configuration's
    /// environment key encoding once the `AFX_` prefix is stripped.
    static func environmentName(for key: String) -> String {
        let components = key.split(separator: ".").map { component -> String in
            var out = ""
            var previous: Character?
            for character in component {
                if let previous, previous.isLowercase, character.isUppercase {
                    out.append("_")
                }
                out.append(character)
                previous = character
            }
            return out.uppercased()
        }
        return "AFX_" + components.joined(separator: "_")
    }
}
