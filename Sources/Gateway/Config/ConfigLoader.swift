import Configuration
import Foundation
import Store
import SystemPackage
import Yams

/// Builds the `AppConfig` from, in order of precedence: `AFX_*` environment variables (and
/// `DATABASE_URL`), the YAML file, and the defaults in `Settings`. Secrets come only from the
/// environment or from files named in it.
public struct ConfigLoader: Sendable {
    public static let defaultFilePath = "config/afx.yaml"

    /// Where a setting's effective value came from, for `afx config check`.
    public enum Source: String, Sendable {
        case environment, file, `default`, secretFile = "secret file", generated
    }

    public struct Entry: Sendable {
        public let key: String
        public let value: String
        public let source: Source
    }

    public struct Result: Sendable {
        public var config: AppConfig
        public var entries: [Entry]
        public var warnings: [String]
    }

    public var environment: [String: String]
    /// nil: `AFX_CONFIG`, else `defaultFilePath` when it exists.
    public var filePath: String?
    /// Read when no file is named and it exists; nil reads no file at all.
    public var defaultFilePath: String?

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, filePath: String? = nil,
        defaultFilePath: String? = ConfigLoader.defaultFilePath
    ) {
        self.environment = environment
        self.filePath = filePath
        self.defaultFilePath = defaultFilePath
    }

    public func load() async throws(ConfigurationError) -> Result {
        let afxEnvironment = Dictionary(
            uniqueKeysWithValues: environment.compactMap { name, value in
                name.hasPrefix("AFX_") ? (String(name.dropFirst(4)), value) : nil
            })
        let envReader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: afxEnvironment))
        let (fileReader, fileKeys) = try await loadFile()

        var config = AppConfig()
        var entries: [Entry] = []
        var warnings: [String] = []

        for setting in Settings.all {
            var text = setting.defaultValue
            var source = Source.default
            if let value = envReader.string(forKey: ConfigKey(setting.key)) {
                text = value
                source = .environment
            } else if fileKeys.contains(setting.key) {
                text = try fileValue(setting, reader: fileReader)
                source = .file
            }
            do {
                try setting.apply(&config, text)
            } catch {
                throw ConfigurationError(key: setting.key, "\(error.expected), got \"\(text)\"")
            }
            entries.append(Entry(key: setting.key, value: text, source: source))
        }

        try loadDatabaseURL(into: &config, entries: &entries, fileReader: fileReader, fileKeys: fileKeys)
        try loadSecrets(into: &config, entries: &entries, warnings: &warnings, fileKeys: fileKeys)

        let known = Set(Settings.all.map { SettingKey.environmentName(for: $0.key) })
            .union(
                Settings.secrets.flatMap { key in
                    let name = SettingKey.environmentName(for: key.key)
                    return [name, name + "_FILE"]
                }
            )
            .union(["AFX_CONFIG", "AFX_DATABASE_URL"])
        for name in environment.keys.sorted()
        where name.hasPrefix("AFX_") && !known.contains(name) && !name.hasPrefix("AFX_TEST_") {
            warnings.append("ignoring unknown environment variable \(name)")
        }
        return Result(config: config, entries: entries, warnings: warnings)
    }

    private func loadFile() async throws(ConfigurationError) -> (ConfigReader?, Set<String>) {
        let explicit = filePath ?? environment["AFX_CONFIG"]
        guard let path = explicit ?? defaultFilePath else { return (nil, []) }
        guard FileManager.default.fileExists(atPath: path) else {
            if explicit != nil {
                throw ConfigurationError(key: "config", "the configuration file \(path) does not exist")
            }
            return (nil, [])
        }
        let keys: Set<String>
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            keys = try Self.leafKeys(ofYAML: text)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            let firstLine = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw ConfigurationError(key: "config", "\(path) is not valid YAML: \(firstLine)")
        }
        let allowed = Set(Settings.all.map(\.key)).union([Settings.databaseURLKey])
        let secretKeys = Set(Settings.secrets.map(\.key))
        for key in keys.sorted() {
            if secretKeys.contains(key) {
                let name = SettingKey.environmentName(for: key)
                throw ConfigurationError(
                    key: key, "secrets may not be written in \(path); set \(name) or \(name)_FILE instead")
            }
            if !allowed.contains(key) {
                throw ConfigurationError(key: key, "unknown setting in \(path) (see config/afx.yaml for every setting)")
            }
        }
        do {
            let provider = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            return (ConfigReader(provider: provider), keys)
        } catch {
            throw ConfigurationError(key: "config", "\(path) cannot be read: \(error)")
        }
    }

    /// The dotted keys of every scalar or sequence in a YAML mapping.
    static func leafKeys(ofYAML text: String) throws -> Set<String> {
        guard let root = try Yams.compose(yaml: text) else { return [] }
        guard let mapping = root.mapping else {
            throw ConfigurationError(key: "config", "the file's top level must be a mapping of settings")
        }
        var keys = Set<String>()
        func walk(_ mapping: Node.Mapping, prefix: String) {
            for (key, value) in mapping {
                let name = prefix.isEmpty ? (key.string ?? "") : prefix + "." + (key.string ?? "")
                if let nested = value.mapping {
                    walk(nested, prefix: name)
                } else {
                    keys.insert(name)
                }
            }
        }
        walk(mapping, prefix: "")
        return keys
    }

    private func fileValue(_ setting: Setting, reader: ConfigReader?) throws(ConfigurationError) -> String {
        guard let reader else { return setting.defaultValue }
        let key = ConfigKey(setting.key)
        switch setting.kind {
        case .scalar:
            do {
                return try reader.requiredString(forKey: key)
            } catch {
                throw ConfigurationError(key: setting.key, "expected a single value, not a list or mapping")
            }
        case .list:
            if let items = reader.stringArray(forKey: key) {
                return items.joined(separator: ",")
            }
            if let text = reader.string(forKey: key) {
                return text
            }
            throw ConfigurationError(key: setting.key, "expected a list of values")
        }
    }

    private func loadDatabaseURL(
        into config: inout AppConfig, entries: inout [Entry], fileReader: ConfigReader?, fileKeys: Set<String>
    ) throws(ConfigurationError) {
        let key = Settings.databaseURLKey
        var text: String?
        var source = Source.default
        if let value = environment["DATABASE_URL"] ?? environment["AFX_DATABASE_URL"], !value.isEmpty {
            text = value
            source = .environment
        } else if fileKeys.contains(key), let value = fileReader?.string(forKey: ConfigKey(key)), !value.isEmpty {
            text = value
            source = .file
        }
        guard let text else {
            entries.append(Entry(key: key, value: "(not set)", source: .default))
            return
        }
        do {
            config.database.url = try DatabaseURL(parsing: text)
        } catch {
            throw ConfigurationError(key: key, "\(error.description) (DATABASE_URL)")
        }
        if source == .file, config.database.url?.password != nil {
            throw ConfigurationError(
                key: key,
                "the URL in the configuration file carries a password; set AFX_DATABASE_PASSWORD or DATABASE_URL instead"
            )
        }
        entries.append(Entry(key: key, value: config.database.url?.redacted ?? "", source: source))
    }

    private func loadSecrets(
        into config: inout AppConfig, entries: inout [Entry], warnings: inout [String], fileKeys: Set<String>
    ) throws(ConfigurationError) {
        for secret in Settings.secrets {
            let name = SettingKey.environmentName(for: secret.key)
            let direct = environment[name].flatMap { $0.isEmpty ? nil : $0 }
            let file = environment[name + "_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            var value: String?
            var source = Source.environment
            switch (direct, file) {
            case (.some, .some):
                throw ConfigurationError(key: secret.key, "set either \(name) or \(name)_FILE, not both")
            case (.some(let text), nil):
                value = text
            case (nil, .some(let path)):
                do {
                    value = try String(contentsOfFile: path, encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    source = .secretFile
                } catch {
                    throw ConfigurationError(key: secret.key, "the file named by \(name)_FILE (\(path)) cannot be read")
                }
            case (nil, nil):
                break
            }
            if let value {
                do {
                    try secret.apply(&config, value)
                } catch {
                    // The value is secret: say what is expected, never what was given.
                    throw ConfigurationError(key: secret.key, error.expected)
                }
                entries.append(Entry(key: secret.key, value: "***", source: source))
            } else if secret.requiredInProduction && config.environment == .production {
                throw ConfigurationError(
                    key: secret.key, "required in production; set \(name) or \(name)_FILE")
            } else if secret.requiredInProduction {
                do {
                    try secret.apply(&config, Self.ephemeralSecret(for: secret.key))
                } catch {
                    throw ConfigurationError(key: secret.key, error.expected)
                }
                warnings.append("\(name) is not set: using a random key for this process only (development)")
                entries.append(Entry(key: secret.key, value: "***", source: .generated))
            } else {
                entries.append(Entry(key: secret.key, value: "(not set)", source: .default))
            }
        }
    }

    static func ephemeralSecret(for key: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<48).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return key == "encryptionKey"
            ? Data(bytes.prefix(32)).base64EncodedString() : Data(bytes).base64EncodedString()
    }
}

enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)).map(Array.init)
    }
}
