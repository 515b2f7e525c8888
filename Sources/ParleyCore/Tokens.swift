import Crypto
import Foundation

/// Random tokens, hashes and constant-time comparison.
public enum Tokens {
    /// A random token of `bytes` bytes (default 256 bits), base64url without padding.
    public static func random(bytes: Int = 32) -> String {
        var g = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &g) }
        return base64url(raw)
    }

    public static func base64url<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// SHA-256 of a token, hex: what the log stores instead of the token.
    public static func hash(_ token: String) -> String {
        hex(SHA256.hash(data: Data(token.utf8)))
    }

    public static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares two strings in time that depends only on their lengths.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// Checks a presented token against a stored hash, in constant time.
    public static func matches(token: String, hash stored: String) -> Bool {
        constantTimeEqual(hash(token), stored)
    }
}

/// The server secret in `data/secret.key` (created on first start, mode 0600).
public struct ServerSecret: Sendable {
    private let raw: [UInt8]
    public var key: SymmetricKey { SymmetricKey(data: raw) }
    public init(raw: [UInt8]) { self.raw = raw }

    public static func loadOrCreate(layout: DataLayout) throws -> ServerSecret {
        if let data = FileManager.default.contents(atPath: layout.secretKey) {
            guard let text = String(data: data, encoding: .utf8),
                  let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count >= 32 else {
                throw ParleyError.corrupt("\(layout.secretKey) is not a valid secret (expected 32+ bytes, base64)")
            }
            return ServerSecret(raw: Array(raw))
        }
        var g = SystemRandomNumberGenerator()
        let raw = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        try Durable.writeNew(path: layout.secretKey, bytes: Array((Data(raw).base64EncodedString() + "\n").utf8), mode: 0o600)
        return ServerSecret(raw: Array(raw))
    }

    /// HMAC-SHA256 of `message` under the secret, hex.
    public func sign(_ message: String) -> String {
        Tokens.hex(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key))
    }
}
