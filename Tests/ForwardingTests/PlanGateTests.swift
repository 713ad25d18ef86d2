import Testing

@testable import Forwarding

struct PlanGateTests {
    static func plan(
        _ tier: PlanTier, pairs: Int, routes: Set<PlanRoute>, keywords: Bool = false, regex: Bool = false,
        media: Bool = true, edits: Bool = true, delay: Int = 0
    ) -> Plan {
        Plan(
            tier: tier, name: tier.rawValue.capitalized, maxAccounts: pairs, maxPairs: pairs, routes: routes,
            media: media, editsSync: edits, keywordFilters: keywords, regexFilters: regex, maxDelaySeconds: delay,
            lane: "low", apiKeys: tier == .elite, outboundWebhooks: tier == .elite, apiRequestsPerMinute: 60)
    }

    static let every: Set<PlanRoute> = [
        .init(.telegram, .telegram), .init(.telegram, .discord), .init(.discord, .telegram),
        .init(.discord, .discord),
    ]
    static let gate = PlanGate(
        catalog: try! PlanCatalog([
            plan(.free, pairs: 2, routes: [.init(.telegram, .telegram)], media: false, edits: false),
            plan(.pro, pairs: 5, routes: every, keywords: true, delay: 300),
            plan(.elite, pairs: 50, routes: every, keywords: true, regex: true, delay: 3600),
        ]))

    static func pair(_ id: Int64, _ destination: Platform = .telegram, status: Pair.Status = .active) -> Pair {
        Pair(
            id: id, userID: 1, source: .init(platform: .telegram, accountID: 1, chatID: -1),
            destination: .init(platform: destination, accountID: 1, chatID: id), status: status)
    }

    @Test func eachRefusalNamesTheLimitAndTheLowestPlanThatLiftsIt() {
        #expect(
            throws: PlanRefusal(
                limit: "maxPairs",
                message: "the Free plan allows 2 forwarding pairs; upgrade to Pro to lift this limit", liftedBy: .pro)
        ) {
            try Self.gate.checkNewPair(
                plan: .free, existingPairs: 2, source: .telegram, destination: .telegram, delaySeconds: 0,
                options: PairOptions())
        }
        // Six pairs need Elite: Pro's five do not lift it.
        #expect(
            throws: PlanRefusal(
                limit: "maxPairs",
                message: "the Pro plan allows 5 forwarding pairs; upgrade to Elite to lift this limit", liftedBy: .elite
            )
        ) {
            try Self.gate.checkNewPair(
                plan: .pro, existingPairs: 5, source: .telegram, destination: .telegram, delaySeconds: 0,
                options: PairOptions())
        }
        #expect(
            throws: PlanRefusal(
                limit: "regexFilters",
                message: "the Pro plan has no regex replacements; upgrade to Elite to lift this limit", liftedBy: .elite
            )
        ) {
            try Self.gate.checkPairSettings(
                plan: .pro, source: .telegram, destination: .discord, delaySeconds: 0,
                options: PairOptions(regexReplacements: [RegexReplacement(pattern: "a", replacement: "b")]))
        }
        #expect(
            throws: PlanRefusal(
                limit: "maxDelaySeconds",
                message: "the Elite plan allows a delay of at most 3600 s; no plan lifts this limit", liftedBy: nil)
        ) {
            try Self.gate.checkPairSettings(
                plan: .elite, source: .telegram, destination: .discord, delaySeconds: 7200, options: PairOptions())
        }
        #expect(throws: Never.self) {
            try Self.gate.checkNewPair(
                plan: .pro, existingPairs: 4, source: .discord, destination: .telegram, delaySeconds: 300,
                options: PairOptions(includeKeywords: ["x"]))
        }
    }

    @Test func aDowngradePausesTheNewestPairsAndForbiddenDirections() {
        let pairs = [
            Self.pair(1), Self.pair(2, .discord), Self.pair(3), Self.pair(4, status: .paused), Self.pair(5),
        ]
        #expect(Self.gate.pairsToPause(plan: .free, pairs: pairs.shuffled()).map(\.id) == [2, 5])
        #expect(Self.gate.pairsToPause(plan: .pro, pairs: pairs).isEmpty)
    }

    @Test func routingUsesOnlyWhatThePlanHas() {
        let options = PairOptions(
            includeKeywords: ["a"], regexReplacements: [RegexReplacement(pattern: "a", replacement: "b")],
            forwardEdits: true, includeMedia: true)
        let free = Self.gate.effectiveOptions(plan: .free, options)
        #expect(free.includeKeywords.isEmpty && free.regexReplacements.isEmpty)
        #expect(!free.forwardEdits && !free.includeMedia)
        let pro = Self.gate.effectiveOptions(plan: .pro, options)
        #expect(pro.includeKeywords == ["a"] && pro.regexReplacements.isEmpty && pro.includeMedia)
        #expect(Self.gate.effectiveOptions(plan: .elite, options) == options)
        #expect(Self.gate.effectiveDelay(plan: .pro, 900) == 300)
        #expect(!Self.gate.allowsRoute(plan: .free, source: .discord, destination: .telegram))
    }

    @Test func aCatalogNeedsEveryTierWithSaneValues() {
        #expect(throws: PlanCatalogError.self) { try PlanCatalog([Self.plan(.free, pairs: 2, routes: [])]) }
        var bad = Self.plan(.pro, pairs: 5, routes: Self.every)
        bad.lane = "urgent"
        #expect(throws: PlanCatalogError.self) {
            try PlanCatalog([Self.plan(.free, pairs: 2, routes: []), bad, Self.plan(.elite, pairs: 9, routes: [])])
        }
        #expect(PlanRoute("telegram->discord") == PlanRoute(.telegram, .discord))
        #expect(PlanRoute("telegram=>discord") == nil)
    }
}
