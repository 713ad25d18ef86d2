import Testing

@testable import Gateway

/// Token buckets that say when a send may go, instead of a worker sleeping on a limit.
@Suite struct SendSchedulerTests {
    @Test func aBurstGoesAtOnceThenTheRateSaysWhen() throws {
        let scheduler = SendScheduler()
        let chat = SendScheduler.Limit(key: "tg:chat:1", rate: 1, burst: 3)
        for _ in 0..<3 { #expect(scheduler.reserve(1, under: [chat]) == nil) }
        let wait = try #require(scheduler.reserve(1, under: [chat]))
        // One token at one per second: close to a second from now, never zero.
        #expect(wait > .milliseconds(900) && wait <= .seconds(1))
    }

    @Test func theStrictestBucketDecidesAndNothingIsTakenWhenOneIsEmpty() throws {
        let scheduler = SendScheduler()
        let bot = SendScheduler.Limit(key: "tg:bot:1", rate: 30, burst: 30)
        let chatA = SendScheduler.Limit(key: "tg:chat:a", rate: 1, burst: 1)
        let chatB = SendScheduler.Limit(key: "tg:chat:b", rate: 1, burst: 1)
        #expect(scheduler.reserve(1, under: [bot, chatA]) == nil)
        #expect(scheduler.reserve(1, under: [bot, chatA]) != nil)
        // Another chat of the same bot is not held up by the first chat's limit.
        #expect(scheduler.reserve(1, under: [bot, chatB]) == nil)
        // The refused reservation took nothing from the bot: 28 more fit in its burst.
        for _ in 0..<28 {
            let chat = SendScheduler.Limit(key: "tg:chat:\(Int.random(in: 0..<Int.max))", rate: 1, burst: 1)
            #expect(scheduler.reserve(1, under: [bot, chat]) == nil)
        }
        let next = SendScheduler.Limit(key: "tg:chat:next", rate: 1, burst: 1)
        #expect(scheduler.reserve(1, under: [bot, next]) != nil)
    }

    @Test func anAlbumReservesAllItsMessages() throws {
        let scheduler = SendScheduler()
        let group = SendScheduler.Limit(key: "tg:group:1", rate: 1, burst: 5)
        #expect(scheduler.reserve(4, under: [group]) == nil)
        #expect(scheduler.reserve(4, under: [group]) != nil)
        #expect(scheduler.reserve(1, under: [group]) == nil)
    }
}
