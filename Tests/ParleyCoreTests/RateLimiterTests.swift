import Foundation
import Synchronization
import Testing
@testable import ParleyCore

/// A clock the test moves by hand.
final class FakeClock: Sendable {
    private let t = Mutex(1_000_000.0)
    var now: Double { t.withLock { $0 } }
    func advance(_ seconds: Double) { t.withLock { $0 += seconds } }
}

@Suite("Rate limiter")
struct RateLimiterTests {
    private func retryAfter(_ body: () throws -> Void) -> Int? {
        do { try body(); return nil } catch ParleyError.rateLimited(let s) { return s } catch { return -1 }
    }

    @Test func burstIsAllowedThenLimitedUntilRefilled() throws {
        let clock = FakeClock()
        let limiter = RateLimiter(now: { clock.now })
        let rule = RateLimiter.Rule(burst: 3, perSecond: 0.5)
        for _ in 0..<3 { try limiter.take("1.2.3.4", rule) }
        #expect(retryAfter { try limiter.take("1.2.3.4", rule) } == 2)

        clock.advance(1)  // half a token back
        #expect(retryAfter { try limiter.take("1.2.3.4", rule) } == 1)
        clock.advance(1)  // one whole token
        try limiter.take("1.2.3.4", rule)
        #expect(retryAfter { try limiter.take("1.2.3.4", rule) } == 2)

        clock.advance(3600)  // refills up to the burst, not beyond
        for _ in 0..<3 { try limiter.take("1.2.3.4", rule) }
        #expect(retryAfter { try limiter.take("1.2.3.4", rule) } != nil)
    }

    @Test func keysHaveSeparateBuckets() throws {
        let clock = FakeClock()
        let limiter = RateLimiter(now: { clock.now })
        let rule = RateLimiter.Rule(burst: 1, perSecond: 1)
        try limiter.take("a", rule)
        #expect(retryAfter { try limiter.take("a", rule) } == 1)
        try limiter.take("b", rule)
    }

    @Test func retryAfterIsAtLeastOneSecond() throws {
        let clock = FakeClock()
        let limiter = RateLimiter(now: { clock.now })
        let rule = RateLimiter.Rule(burst: 1, perSecond: 100)
        try limiter.take("k", rule)
        #expect(retryAfter { try limiter.take("k", rule) } == 1)
    }

    @Test func disabledLimiterNeverThrows() throws {
        let clock = FakeClock()
        let limiter = RateLimiter(enabled: false, now: { clock.now })
        let rule = RateLimiter.Rule(burst: 1, perSecond: 0.001)
        for _ in 0..<1000 { try limiter.take("k", rule) }
    }
}
