import Foundation
import Testing
@testable import ParleyCore

@Suite("Identity signatures")
struct IdentityTests {
    let secret = "shop-secret-123"
    let ts = 1_795_000_000
    var signedAt: Date { Date(timeIntervalSince1970: Double(ts)) }

    /// The same value a shop gets from PHP's hash_hmac or Node's createHmac (computed with Python's hmac).
    @Test func matchesTheRecipeShopsUse() {
        #expect(IdentitySignature.sign(email: "ann@example.com", ts: ts, secret: secret)
                == "1a84c42caf392c52af8db513dd65e1cb4c190f6c1a19e1258c7f8cfe95e0d2d1")
    }

    @Test func acceptsAFreshSignatureAndRefusesTampering() {
        let sig = IdentitySignature.sign(email: "ann@example.com", ts: ts, secret: secret)
        let soon = signedAt.addingTimeInterval(60)
        #expect(IdentitySignature.verify(email: "ann@example.com", ts: ts, signature: sig, secret: secret, now: soon))
        #expect(IdentitySignature.verify(email: "ann@example.com", ts: ts, signature: sig.uppercased(), secret: secret, now: soon))
        #expect(!IdentitySignature.verify(email: "bob@example.com", ts: ts, signature: sig, secret: secret, now: soon))
        #expect(!IdentitySignature.verify(email: "ann@example.com", ts: ts + 1, signature: sig, secret: secret, now: soon))
        #expect(!IdentitySignature.verify(email: "ann@example.com", ts: ts, signature: sig, secret: "other", now: soon))
        #expect(!IdentitySignature.verify(email: "ann@example.com", ts: ts, signature: sig, secret: "", now: soon))
    }

    @Test(arguments: [
        (IdentitySignature.maxAge, true),
        (IdentitySignature.maxAge + 1, false),
        (-IdentitySignature.allowedSkew, true),
        (-IdentitySignature.allowedSkew - 1, false),
    ])
    func expiresAndToleratesSmallClockSkew(offset: TimeInterval, accepted: Bool) {
        let sig = IdentitySignature.sign(email: "ann@example.com", ts: ts, secret: secret)
        #expect(IdentitySignature.verify(email: "ann@example.com", ts: ts, signature: sig, secret: secret,
                                         now: signedAt.addingTimeInterval(offset)) == accepted)
    }
}
