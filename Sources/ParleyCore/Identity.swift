import Crypto
import Foundation

/// `Parley('identify', {name, email, ts, signature})`: a shop that knows its logged-in customer
/// signs `email|ts` (ts = Unix seconds) with the widget's identity secret, HMAC-SHA256, hex:
///
///     PHP:  hash_hmac('sha256', $email . '|' . $ts, $secret)
///     Node: require('crypto').createHmac('sha256', secret).update(email + '|' + ts).digest('hex')
///
/// The server accepts it for `maxAge` after `ts` (and a little clock skew before), so a
/// signature copied from a page stops working, and a visitor cannot claim someone else's email.
public enum IdentitySignature {
    public static let maxAge: TimeInterval = 48 * 3600
    public static let allowedSkew: TimeInterval = 300

    public static func sign(email: String, ts: Int, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(email)|\(ts)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Tokens.hex(mac)
    }

    /// Whether `signature` is the shop's signature of `email` at `ts`, still fresh at `now`.
    public static func verify(email: String, ts: Int, signature: String, secret: String, now: Date = Date()) -> Bool {
        guard !secret.isEmpty, !email.isEmpty else { return false }
        let age = now.timeIntervalSince1970 - Double(ts)
        guard age <= maxAge, age >= -allowedSkew else { return false }
        return Tokens.constantTimeEqual(sign(email: email, ts: ts, secret: secret), signature.lowercased())
    }
}
