import Testing

@testable import PlatformSimulators

/// The simulated X-RateLimit-Reset and -Reset-After values: seconds with three decimals.
@Suite struct SimulatorRateLimitHeaderTests {
    @Test(arguments: [
        (0.0, "0.000"), (1.0, "1.000"), (1.25, "1.250"), (0.0004, "0.000"), (0.0006, "0.001"), (0.999_6, "1.000"),
        (1_732_822_222.123_4, "1732822222.123"), (-0.5, "0.000"),
    ])
    func threeDecimals(seconds: Double, text: String) {
        #expect(DiscordRateLimiter.secondsText(seconds) == text)
    }
}
