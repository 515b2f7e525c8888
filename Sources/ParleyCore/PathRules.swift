import Foundation

/// Where a widget shows: a whitelist (only on listed paths) or a blacklist (everywhere but listed
/// paths). Patterns match the whole path; `*` matches any run of characters, including `/`
/// (`/checkout*`, `/products/*/reviews`). The widget's JavaScript applies the same rules on every
/// navigation; `Tests/vectors/path-rules.json` holds the cases both implementations must pass.
public struct PathRules: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable { case whitelist, blacklist }
    public var mode: Mode
    public var paths: [String]

    public init(mode: Mode = .blacklist, paths: [String] = []) { self.mode = mode; self.paths = paths }

    /// An empty blacklist: shows everywhere.
    public static let everywhere = PathRules()

    /// Whether the widget shows on `path` (the URL's path, without query or fragment).
    public func shows(onPath path: String) -> Bool {
        let listed = paths.contains { Self.matches(pattern: $0, path: path) }
        return mode == .whitelist ? listed : !listed
    }

    /// Whole-string glob match where `*` is the only wildcard.
    public static func matches(pattern: String, path: String) -> Bool {
        let p = Array(pattern.utf8), s = Array(path.utf8)
        var pi = 0, si = 0
        var star = -1, mark = 0
        while si < s.count {
            if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi; mark = si; pi += 1
            } else if pi < p.count && p[pi] == s[si] {
                pi += 1; si += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Validation for the admin: each pattern starts with `/`, has no whitespace, and fits.
    public func validate() throws {
        var errors: [String: String] = [:]
        if paths.count > 200 { errors["paths"] = "At most 200 paths." }
        for (i, p) in paths.enumerated() where !p.hasPrefix("/") || p.count > 300 || p.contains(where: \.isWhitespace) {
            errors["paths[\(i)]"] = "A path starts with / and has no spaces (for example /checkout*)."
        }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
    }
}
