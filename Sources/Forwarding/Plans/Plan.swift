import Foundation

/// A subscription tier. Ordered: a higher tier never allows less than a lower one in the shipped
/// catalog, and "the plan that lifts a limit" is the lowest tier above that does.
public enum PlanTier: String, Sendable, Codable, CaseIterable, Comparable {
    case free, pro, elite

    public static func < (lhs: PlanTier, rhs: PlanTier) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One direction messages may be forwarded in.
public struct PlanRoute: Sendable, Hashable, Codable, CustomStringConvertible {
    public var source: Platform
    public var destination: Platform

    public init(_ source: Platform, _ destination: Platform) {
        self.source = source
        self.destination = destination
    }

    /// `telegram->discord`, as written in `plans.yaml`.
    public init?(_ text: String) {
        let parts = text.split(separator: "->").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let source = Platform(rawValue: parts[0]),
            let destination = Platform(rawValue: parts[1])
        else { return nil }
        self.init(source, destination)
    }

    public var description: String { "\(source.rawValue)->\(destination.rawValue)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let route = PlanRoute(text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "\(text) is not a route such as telegram->discord"))
        }
        self = route
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// What one tier may do: limits and features, read from `config/plans.yaml`.
public struct Plan: Sendable, Equatable, Codable {
    public var tier: PlanTier
    public var name: String
    /// Linked bot accounts (Telegram and Discord together).
    public var maxAccounts: Int
    public var maxPairs: Int
    public var routes: Set<PlanRoute>
    public var media: Bool
    public var editsSync: Bool
    public var keywordFilters: Bool
    public var regexFilters: Bool
    /// A pair's delay may be set anywhere in 0...maxDelaySeconds.
    public var maxDelaySeconds: Int
    /// Queue lane of the plan's work: low, medium or high.
    public var lane: String
    public var apiKeys: Bool
    public var outboundWebhooks: Bool
    /// REST API requests per minute, per user and per API key.
    public var apiRequestsPerMinute: Int

    public init(
        tier: PlanTier, name: String, maxAccounts: Int, maxPairs: Int, routes: Set<PlanRoute>, media: Bool,
        editsSync: Bool, keywordFilters: Bool, regexFilters: Bool, maxDelaySeconds: Int, lane: String,
        apiKeys: Bool, outboundWebhooks: Bool, apiRequestsPerMinute: Int
    ) {
        self.tier = tier
        self.name = name
        self.maxAccounts = maxAccounts
        self.maxPairs = maxPairs
        self.routes = routes
        self.media = media
        self.editsSync = editsSync
        self.keywordFilters = keywordFilters
        self.regexFilters = regexFilters
        self.maxDelaySeconds = maxDelaySeconds
        self.lane = lane
        self.apiKeys = apiKeys
        self.outboundWebhooks = outboundWebhooks
        self.apiRequestsPerMinute = apiRequestsPerMinute
    }
}

/// Every plan, one per tier.
public struct PlanCatalog: Sendable, Equatable {
    public let plans: [PlanTier: Plan]

    /// Throws when a tier is missing or a value is out of range, naming it.
    public init(_ plans: [Plan]) throws(PlanCatalogError) {
        var byTier: [PlanTier: Plan] = [:]
        for plan in plans {
            guard byTier[plan.tier] == nil else { throw PlanCatalogError("\(plan.tier.rawValue) is defined twice") }
            func check(_ ok: Bool, _ field: String, _ expected: String) throws(PlanCatalogError) {
                if !ok { throw PlanCatalogError("\(plan.tier.rawValue).\(field): expected \(expected)") }
            }
            try check(plan.maxAccounts >= 0, "maxAccounts", "0 or more")
            try check(plan.maxPairs >= 0, "maxPairs", "0 or more")
            try check((0...86400).contains(plan.maxDelaySeconds), "maxDelaySeconds", "0 to 86400")
            try check(["low", "medium", "high"].contains(plan.lane), "lane", "low, medium or high")
            try check(plan.apiRequestsPerMinute > 0, "apiRequestsPerMinute", "more than 0")
            try check(!plan.name.isEmpty, "name", "a name")
            byTier[plan.tier] = plan
        }
        for tier in PlanTier.allCases where byTier[tier] == nil {
            throw PlanCatalogError("\(tier.rawValue) is missing")
        }
        self.plans = byTier
    }

    public subscript(tier: PlanTier) -> Plan { plans[tier]! }

    /// Tiers from lowest to highest.
    public var ordered: [Plan] { PlanTier.allCases.map { self[$0] } }
}

public struct PlanCatalogError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
