import Forwarding
import Foundation
import Yams

/// Reads `config/plans.yaml` into the catalog `PlanGate` decides with. A missing file, a missing
/// tier or key, or a value out of range stops start-up with one line naming it.
public enum PlanLoader {
    struct Entry: Decodable {
        var name: String
        var maxAccounts: Int
        var maxPairs: Int
        var routes: [PlanRoute]
        var media: Bool
        var editsSync: Bool
        var keywordFilters: Bool
        var regexFilters: Bool
        var maxDelaySeconds: Int
        var lane: String
        var apiKeys: Bool
        var outboundWebhooks: Bool
        var apiRequestsPerMinute: Int
    }

    public static func load(path: String) throws -> PlanCatalog {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(key: "plans.file", "cannot read \(path)")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ yaml: String, source: String = "plans.yaml") throws -> PlanCatalog {
        let entries: [String: Entry]
        do {
            entries = try YAMLDecoder().decode([String: Entry].self, from: yaml)
        } catch let error as DecodingError {
            throw ConfigurationError(key: "plans.file", "\(source): \(describe(error))")
        } catch {
            throw ConfigurationError(key: "plans.file", "\(source) is not valid YAML: \(error)")
        }
        var plans: [Plan] = []
        for (key, entry) in entries {
            guard let tier = PlanTier(rawValue: key) else {
                throw ConfigurationError(
                    key: "plans.file", "\(source): unknown plan \(key) (expected free, pro, elite)")
            }
            plans.append(
                Plan(
                    tier: tier, name: entry.name, maxAccounts: entry.maxAccounts, maxPairs: entry.maxPairs,
                    routes: Set(entry.routes), media: entry.media, editsSync: entry.editsSync,
                    keywordFilters: entry.keywordFilters, regexFilters: entry.regexFilters,
                    maxDelaySeconds: entry.maxDelaySeconds, lane: entry.lane, apiKeys: entry.apiKeys,
                    outboundWebhooks: entry.outboundWebhooks, apiRequestsPerMinute: entry.apiRequestsPerMinute))
        }
        do {
            return try PlanCatalog(plans)
        } catch {
            throw ConfigurationError(key: "plans.file", "\(source): \(error.description)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
