/// A refused action: which limit, and a message naming the plan that lifts it. The API answers
/// it as 403 `plan_limit`.
public struct PlanRefusal: Error, Equatable, CustomStringConvertible {
    /// Stable name of the limit, such as `maxPairs` or `routes`.
    public let limit: String
    public let message: String
    /// The lowest tier that allows the action; nil when none does.
    public let liftedBy: PlanTier?

    public var description: String { message }
}

/// The one place every plan check is decided: the API before it changes anything, routing for
/// the features each message may use, and downgrades for what stops running.
public struct PlanGate: Sendable {
    public let catalog: PlanCatalog

    public init(catalog: PlanCatalog) {
        self.catalog = catalog
    }

    /// Refuses a new pair the plan does not allow. `existingPairs` counts the user's pairs, paused
    /// ones included (pausing does not free a slot: resuming must not exceed the plan).
    public func checkNewPair(
        plan tier: PlanTier, existingPairs: Int, source: Platform, destination: Platform, delaySeconds: Int,
        options: PairOptions
    ) throws(PlanRefusal) {
        let plan = catalog[tier]
        if existingPairs >= plan.maxPairs {
            throw refusal(
                "maxPairs", tier,
                "the \(plan.name) plan allows \(plan.maxPairs) forwarding pair\(plan.maxPairs == 1 ? "" : "s")",
                where: { $0.maxPairs > existingPairs })
        }
        try checkPairSettings(
            plan: tier, source: source, destination: destination, delaySeconds: delaySeconds, options: options)
    }

    /// Refuses settings of a pair (new or changed) beyond the plan: its direction, delay and filters.
    public func checkPairSettings(
        plan tier: PlanTier, source: Platform, destination: Platform, delaySeconds: Int, options: PairOptions
    ) throws(PlanRefusal) {
        let plan = catalog[tier]
        let route = PlanRoute(source, destination)
        if !plan.routes.contains(route) {
            throw refusal(
                "routes", tier,
                "the \(plan.name) plan does not forward \(source.displayName) to \(destination.displayName)",
                where: { $0.routes.contains(route) })
        }
        if delaySeconds > plan.maxDelaySeconds {
            throw refusal(
                "maxDelaySeconds", tier,
                "the \(plan.name) plan allows a delay of at most \(plan.maxDelaySeconds) s",
                where: { $0.maxDelaySeconds >= delaySeconds })
        }
        if !(options.includeKeywords.isEmpty && options.excludeKeywords.isEmpty) && !plan.keywordFilters {
            throw refusal(
                "keywordFilters", tier, "the \(plan.name) plan has no keyword filters", where: { $0.keywordFilters })
        }
        if !options.regexReplacements.isEmpty && !plan.regexFilters {
            throw refusal(
                "regexFilters", tier, "the \(plan.name) plan has no regex replacements", where: { $0.regexFilters })
        }
    }

    /// Refuses linking one more bot account beyond the plan.
    public func checkNewAccount(plan tier: PlanTier, existingAccounts: Int) throws(PlanRefusal) {
        let plan = catalog[tier]
        if existingAccounts >= plan.maxAccounts {
            throw refusal(
                "maxAccounts", tier,
                "the \(plan.name) plan allows \(plan.maxAccounts) linked account\(plan.maxAccounts == 1 ? "" : "s")",
                where: { $0.maxAccounts > existingAccounts })
        }
    }

    public func checkAPIKeys(plan tier: PlanTier) throws(PlanRefusal) {
        if !catalog[tier].apiKeys {
            throw refusal("apiKeys", tier, "the \(catalog[tier].name) plan has no API keys", where: { $0.apiKeys })
        }
    }

    public func checkOutboundWebhooks(plan tier: PlanTier) throws(PlanRefusal) {
        if !catalog[tier].outboundWebhooks {
            throw refusal(
                "outboundWebhooks", tier, "the \(catalog[tier].name) plan has no outbound webhooks",
                where: { $0.outboundWebhooks })
        }
    }

    /// Whether routing may use this pair at all (its direction is in the plan).
    public func allowsRoute(plan tier: PlanTier, source: Platform, destination: Platform) -> Bool {
        catalog[tier].routes.contains(PlanRoute(source, destination))
    }

    /// The options a message is forwarded with under the plan: features the plan lacks are off
    /// (a pair set up on a higher plan keeps its settings, they just do not apply).
    public func effectiveOptions(plan tier: PlanTier, _ options: PairOptions) -> PairOptions {
        let plan = catalog[tier]
        var options = options
        if !plan.media { options.includeMedia = false }
        if !plan.editsSync { options.forwardEdits = false }
        if !plan.keywordFilters {
            options.includeKeywords = []
            options.excludeKeywords = []
        }
        if !plan.regexFilters { options.regexReplacements = [] }
        return options
    }

    /// The effective delay: a pair's delay beyond the plan is capped.
    public func effectiveDelay(plan tier: PlanTier, _ delaySeconds: Int) -> Int {
        min(delaySeconds, catalog[tier].maxDelaySeconds)
    }

    /// After a plan change: the active pairs to pause so the user's pairs fit the plan. Pairs
    /// over the pair limit go newest first; pairs whose direction the plan lacks go too.
    /// - Parameter pairs: all of the user's pairs.
    public func pairsToPause(plan tier: PlanTier, pairs: [Pair]) -> [Pair] {
        let plan = catalog[tier]
        let oldestFirst = pairs.sorted { $0.id < $1.id }
        var kept = 0
        var pause: [Pair] = []
        for pair in oldestFirst where pair.status == .active {
            if !plan.routes.contains(PlanRoute(pair.source.platform, pair.destination.platform)) {
                pause.append(pair)
            } else if kept < plan.maxPairs {
                kept += 1
            } else {
                pause.append(pair)
            }
        }
        return pause
    }

    /// Resuming a paused pair: refused when the active pairs already fill the plan.
    public func checkResume(plan tier: PlanTier, activePairs: Int, pair: Pair) throws(PlanRefusal) {
        let plan = catalog[tier]
        try checkPairSettings(
            plan: tier, source: pair.source.platform, destination: pair.destination.platform,
            delaySeconds: pair.delaySeconds, options: pair.options)
        if activePairs >= plan.maxPairs {
            throw refusal(
                "maxPairs", tier,
                "the \(plan.name) plan allows \(plan.maxPairs) active forwarding pair\(plan.maxPairs == 1 ? "" : "s")",
                where: { $0.maxPairs > activePairs })
        }
    }

    private func refusal(_ limit: String, _ tier: PlanTier, _ what: String, where lifts: (Plan) -> Bool)
        -> PlanRefusal
    {
        let lifter = catalog.ordered.first { $0.tier > tier && lifts($0) }
        let advice = lifter.map { "; upgrade to \($0.name) to lift this limit" } ?? "; no plan lifts this limit"
        return PlanRefusal(limit: limit, message: what + advice, liftedBy: lifter?.tier)
    }
}

extension Platform {
    public var displayName: String {
        switch self {
        case .telegram: "Telegram"
        case .discord: "Discord"
        }
    }
}
