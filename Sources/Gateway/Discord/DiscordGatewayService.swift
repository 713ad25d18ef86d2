import DiscordAPI
import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Runs the Discord Gateway sessions this instance holds leases on. Every third of the lease it
/// takes or renews the leases of all active bots (free and lapsed ones too), starts sessions it
/// gained, stops those it lost, and saves resume states; a session whose lease could not be
/// renewed in time stops by itself, so two instances never run the same session. On shutdown
/// the sessions close resumably and the leases are released for another instance to take.
final class DiscordGatewayService: Service, Sendable {
    struct Running: Sendable {
        let task: Task<Void, Never>
        let sink: GatewayEventSink
        var leaseValidUntil: ContinuousClock.Instant
    }

    let runtime: ForwardingRuntime
    let ingest: InboundIngest
    let leases: GatewaySessionRepository
    let accountRepository: AccountRepository
    let configuration: AppConfig.Discord
    let owner: String
    let logger: Logger
    private let running = Mutex<[Int64: Running]>([:])
    private let ownAuthors = Mutex<Set<Int64>>([])
    private let lastIdentify = Mutex<[Int64: ContinuousClock.Instant]>([:])
    private let gatewayURL = Mutex<String?>(nil)

    init(
        runtime: ForwardingRuntime, ingest: InboundIngest, leases: GatewaySessionRepository,
        accountRepository: AccountRepository, configuration: AppConfig.Discord, owner: String, logger: Logger
    ) {
        self.runtime = runtime
        self.ingest = ingest
        self.leases = leases
        self.accountRepository = accountRepository
        self.configuration = configuration
        self.owner = owner
        var logger = logger
        logger[metadataKey: "component"] = "discord-gateway"
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.tick()
                try? await Task.sleep(for: self.configuration.gatewayLease / 3)
            }
        }
        await stopAll()
    }

    /// Ids of the sessions running here (tests and `/readyz` detail).
    var runningAccounts: [Int64] { running.withLock { Array($0.keys).sorted() } }

    private func tick() async {
        let started = ContinuousClock.now
        let held: [GatewaySessionLease]
        do {
            held = try await leases.acquire(owner: owner, lease: configuration.gatewayLease)
            let own = try await runtime.accounts.ownDiscordAuthors()
            ownAuthors.withLock { $0 = own }
        } catch {
            logger.warning("could not renew Gateway leases", metadata: ["error": "\(error)"])
            // Without a renewal a lease runs out; its session must stop before another owner's starts.
            let now = ContinuousClock.now
            for (id, session) in running.withLock({ $0 }) where session.leaseValidUntil <= now {
                logger.warning("Gateway lease ran out; stopping the session", metadata: ["account": "\(id)"])
                await stop(id)
            }
            return
        }
        let validUntil = started + configuration.gatewayLease
        let heldIDs = Set(held.map(\.accountID))
        for id in running.withLock({ Array($0.keys) }) where !heldIDs.contains(id) {
            logger.info("Gateway session moved away or its account is inactive", metadata: ["account": "\(id)"])
            await stop(id)
        }
        for lease in held {
            let isRunning = running.withLock { running in
                running[lease.accountID]?.leaseValidUntil = validUntil
                return running[lease.accountID] != nil
            }
            if !isRunning { await start(lease, validUntil: validUntil) }
        }
        await saveResumeStates()
    }

    private func start(_ lease: GatewaySessionLease, validUntil: ContinuousClock.Instant) async {
        let id = lease.accountID
        var sessionLogger = logger
        sessionLogger[metadataKey: "discord_account"] = "\(id)"
        let target: AccountDirectory.DiscordTarget
        let token: DiscordToken
        do {
            guard let found = try await runtime.accounts.discord(id: id), case .bot(let botToken) = found.credential
            else { return }
            target = found
            token = botToken
        } catch {
            sessionLogger.error("cannot read the bot's credential", metadata: ["error": "\(error)"])
            return
        }
        let url: String
        do {
            url = try await discoverGatewayURL(token: token)
        } catch let error as DiscordError where error.status == 401 {
            await markBroken(id, reason: "Discord refused the bot token (401)")
            return
        } catch {
            sessionLogger.warning("Get Gateway Bot failed; retrying next round", metadata: ["error": "\(error)"])
            return
        }
        let sink = GatewayEventSink(
            accountID: id, plan: target.plan, runtime: runtime, ingest: ingest,
            ownAuthors: { [self] in ownAuthors.withLock { $0 } },
            identifySlot: { [self, sessionLogger] in
                try await waitForIdentify(id, token: token, logger: sessionLogger)
            },
            logger: sessionLogger)
        let resume = lease.sessionID.flatMap { sessionID in
            lease.resumeURL.map {
                GatewayResumeState(sessionID: sessionID, sequence: Int(lease.sequence ?? 0), resumeURL: $0)
            }
        }
        await sink.resumeStateChanged(resume)
        _ = sink.takeDirtyState()
        let session = GatewaySession(
            token: token,
            configuration: .init(gatewayURL: url, reconnectBase: configuration.reconnectBase),
            resumingFrom: resume, delegate: sink, logger: sessionLogger)
        sessionLogger.info(resume == nil ? "starting a Gateway session" : "resuming a Gateway session")
        let task = Task {
            do {
                try await session.run()
            } catch let fatal as GatewayFatalClose {
                sessionLogger.error("Gateway session ended for good", metadata: ["reason": "\(fatal)"])
                await self.markBroken(id, reason: fatal.description)
            } catch {
                sessionLogger.error("Gateway session failed", metadata: ["error": "\(error)"])
            }
        }
        running.withLock { $0[id] = Running(task: task, sink: sink, leaseValidUntil: validUntil) }
    }

    private func stop(_ id: Int64) async {
        guard let session = running.withLock({ $0.removeValue(forKey: id) }) else { return }
        session.task.cancel()
        await session.task.value
        if case .some(let state) = session.sink.takeDirtyState() {
            await save(id, state)
        }
    }

    private func stopAll() async {
        let ids = running.withLock { Array($0.keys) }
        await withTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { await self.stop(id) } }
        }
        do {
            try await leases.release(accountIDs: ids, owner: owner)
        } catch {
            logger.warning("could not release Gateway leases; they lapse on their own", metadata: ["error": "\(error)"])
        }
    }

    private func saveResumeStates() async {
        for (id, session) in running.withLock({ $0 }) {
            if case .some(let state) = session.sink.takeDirtyState() { await save(id, state) }
        }
    }

    private func save(_ id: Int64, _ state: GatewayResumeState?) async {
        do {
            try await leases.saveResumeState(
                accountID: id, owner: owner, sessionID: state?.sessionID, sequence: state.map { Int64($0.sequence) },
                resumeURL: state?.resumeURL)
        } catch {
            logger.warning("could not save a Gateway resume state", metadata: ["error": "\(error)"])
        }
    }

    private func markBroken(_ id: Int64, reason: String) async {
        do {
            try await accountRepository.setDiscordStatus(id: id, status: "broken", reason: reason)
            runtime.accounts.invalidate()
            if let account = try await accountRepository.discord(id: id) {
                runtime.events.publish(
                    LiveEvent(
                        userId: account.userID, type: "account.health", accountId: id, platform: "discord",
                        status: "broken", reason: reason))
            }
        } catch {
            logger.error("could not mark the Discord account broken", metadata: ["error": "\(error)"])
        }
    }

    private func discoverGatewayURL(token: DiscordToken) async throws -> String {
        if let cached = gatewayURL.withLock({ $0 }) { return cached }
        let url = try await runtime.platforms.discord.gatewayBot(token: token).url
        gatewayURL.withLock { $0 = url }
        return url
    }

    /// Spaces one bot's identifies `identifyInterval` apart, and waits out Discord's daily
    /// session-start budget when Get Gateway Bot says it is spent.
    private func waitForIdentify(_ id: Int64, token: DiscordToken, logger: Logger) async throws {
        if let limit = try? await runtime.platforms.discord.gatewayBot(token: token).sessionStartLimit,
            limit.remaining <= 0
        {
            logger.warning(
                "Discord's session start limit is used up; waiting for it to reset",
                metadata: ["reset_after_ms": "\(limit.resetAfter)"])
            try await Task.sleep(for: .milliseconds(max(0, limit.resetAfter)))
        }
        let interval = configuration.identifyInterval
        let wait = lastIdentify.withLock { last -> Duration in
            let now = ContinuousClock.now
            let next = max(now, (last[id] ?? now - interval) + interval)
            last[id] = next
            return next - now
        }
        if wait > .zero { try await Task.sleep(for: wait) }
    }
}
