import Forwarding
import Foundation
import JobQueue
import Logging
import PostgresNIO
import Store

/// What the route and deliver jobs share: the database, the queue, the caches, the platform
/// clients and their limits.
public struct ForwardingRuntime: Sendable {
    let client: PostgresClient
    let queue: JobQueue
    let accounts: AccountDirectory
    let pairs: PairDirectory
    let pairRepository: PairRepository
    let deliveries: DeliveryRepository
    /// Delivered messages' links and log lines, group-committed.
    let recorder: DeliveryRecorder
    let platforms: PlatformClients
    let scheduler: SendScheduler
    let configuration: AppConfig.Platforms
    /// Plan limits: which pairs route, with which features.
    let gate: PlanGate
    /// The live feed (`/v1/events`) hears of deliveries and pauses through it.
    let events: LiveEvents

    /// The limits a send to a Telegram chat through a bot falls under.
    func telegramLimits(botUserID: Int64, chatID: Int64) -> [SendScheduler.Limit] {
        var limits = [
            SendScheduler.Limit(
                key: "tg:bot:\(botUserID)", rate: configuration.telegramBotPerSecond,
                burst: configuration.telegramBotPerSecond),
            SendScheduler.Limit(
                key: "tg:chat:\(chatID)", rate: configuration.telegramChatPerSecond,
                burst: max(3, configuration.telegramChatPerSecond)),
        ]
        // Groups, supergroups and channels have negative ids and the per-minute limit.
        if chatID < 0 {
            let perSecond = configuration.telegramGroupPerMinute / 60
            limits.append(
                .init(
                    key: "tg:group:\(chatID)", rate: perSecond, burst: max(3, configuration.telegramGroupPerMinute / 6))
            )
        }
        return limits
    }
}
