import Foundation

/// Typed errors of the core, mapped once to HTTP statuses at the server's edge and to one-line
/// messages by the CLI.
public enum ParleyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A write or sync failed earlier: the store refuses writes until restarted.
    case storeUnavailable(String)
    case ticketNotFound
    case widgetNotFound(String)
    /// Per-field validation errors (field → message).
    case invalid([String: String], message: String = "Some fields are invalid.")
    case badRequest(String)
    case conflict(String)
    /// A refusal with its own machine-readable code (409): `last_admin`, `version_conflict`…
    case refused(code: String, message: String)
    case forbidden(String)
    case unauthorized(String)
    case tooLarge(String)
    case rateLimited(retryAfter: Int)
    case corrupt(String)
    case io(String)

    public var description: String {
        switch self {
        case .storeUnavailable(let m): return "store unavailable: \(m)"
        case .ticketNotFound: return "ticket not found"
        case .widgetNotFound(let id): return "widget \(id) not found"
        case .invalid(let f, let m): return "\(m) " + f.keys.sorted().map { "\($0): \(f[$0] ?? "")" }.joined(separator: "; ")
        case .badRequest(let m), .conflict(let m), .forbidden(let m), .unauthorized(let m), .tooLarge(let m),
             .corrupt(let m), .io(let m): return m
        case .rateLimited(let s): return "too many requests, retry in \(s) s"
        case .refused(_, let m): return m
        }
    }
}

/// An errno as a readable string.
public func errnoString(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
