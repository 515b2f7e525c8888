import Foundation
import Synchronization

/// Token-bucket rate limits keyed by a string (an IP, an email, a ticket).
public final class RateLimiter: Sendable {
    public struct Rule: Sendable {
        /// Requests allowed in a burst.
        public var burst: Double
        /// Requests regained per second.
        public var perSecond: Double
        public init(burst: Double, perSecond: Double) { self.burst = burst; self.perSecond = perSecond }
    }
    private struct Bucket { var tokens: Double; var updated: Double }
    private let buckets = Mutex<[String: Bucket]>([:])
    private let enabled: Bool
    private let now: @Sendable () -> Double

    public init(enabled: Bool = true, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.enabled = enabled; self.now = now
    }

    /// Takes one token for `key`, or throws `.rateLimited` with the seconds until one is back.
    public func take(_ key: String, _ rule: Rule) throws {
        guard enabled else { return }
        let t = now()
        let wait: Double? = buckets.withLock { dict in
            if dict.count > 100_000 { dict = dict.filter { t - $0.value.updated < 3600 } }
            var b = dict[key] ?? Bucket(tokens: rule.burst, updated: t)
            b.tokens = min(rule.burst, b.tokens + (t - b.updated) * rule.perSecond)
            b.updated = t
            if b.tokens >= 1 { b.tokens -= 1; dict[key] = b; return nil }
            dict[key] = b
            return (1 - b.tokens) / rule.perSecond
        }
        if let wait { throw ParleyError.rateLimited(retryAfter: max(1, Int(wait.rounded(.up)))) }
    }
}
