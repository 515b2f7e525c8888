import Foundation

/// Paths inside the data folder (see data/README.md).
public struct DataLayout: Sendable {
    public let root: String
    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }
    public var secretKey: String { "\(root)/secret.key" }
    public var config: String { "\(root)/config" }
    public var agentsFile: String { "\(config)/agents.json" }
    public var widgets: String { "\(config)/widgets" }
    /// Disposition codes and canned responses (see `InboxSettings`).
    public var inboxFile: String { "\(config)/inbox.json" }
    /// Teams (see `Team`).
    public var teamsFile: String { "\(config)/teams.json" }
    /// Automated actions, in evaluation order (see `AutomationRule`).
    public var rulesFile: String { "\(config)/rules.json" }
    /// Every admin change, append-only (see `AuditLog`).
    public var auditFile: String { "\(config)/audit.jsonl" }
    /// Unpublished widget edits, one file per widget.
    public var drafts: String { "\(config)/drafts" }
    /// Every published version of each widget, append-only, one file per widget.
    public var history: String { "\(config)/history" }
    /// The shop's contacts (see `ContactStore`).
    public var contactsFile: String { "\(root)/contacts.json" }
    public var tickets: String { "\(root)/tickets" }
    public var attachments: String { "\(root)/attachments" }
    public var uploads: String { "\(root)/uploads" }
    public var quarantine: String { "\(root)/quarantine" }
    /// Ticket summaries saved at a clean shutdown, to skip folding unchanged logs at start-up.
    public var summaryCache: String { "\(root)/summaries.cache.json" }
    /// The write-ahead journal (see `Journal`).
    public var journal: String { "\(root)/journal.jsonl" }

    /// The log of a ticket; its month folder comes from the id's date prefix.
    public func ticketPath(_ id: String) -> String? {
        guard TicketID.isValid(id) else { return nil }
        let u = Array(id.utf8)
        let month = String(decoding: u[0..<4], as: UTF8.self) + "-" + String(decoding: u[4..<6], as: UTF8.self)
        return "\(tickets)/\(month)/\(id).jsonl"
    }

    /// Takes an exclusive lock on the data folder (flock on the folder itself, so no lock file),
    /// held until `close` of the returned fd or process exit: one server, or one repairing
    /// `parley check`, per folder.
    public func lock() throws -> Int32 {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ParleyError.io("cannot open \(root): \(errnoString())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            throw ParleyError.conflict(busy
                ? "\(root) is in use by another parley process (a running server?); stop it first"
                : "cannot lock \(root): \(errnoString())")
        }
        return fd
    }

    /// Creates the folders of the layout (idempotent).
    public func create() throws {
        for d in [root, config, widgets, tickets, attachments, uploads, quarantine] { try Durable.makeDirectory(d) }
    }
}

/// Ticket ids: `YYYYMMDD-` and 10 random base32 characters, e.g. `20261121-k3x9m2q7fa`.
/// The date names the month folder; the random part makes ids unguessable.
public enum TicketID {
    static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)

    public static func make(now: Date) -> String {
        var tmv = tm()
        var t = time_t(now.timeIntervalSince1970)
        gmtime_r(&t, &tmv)
        let date = String(format: "%04d%02d%02d", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday))
        var g = SystemRandomNumberGenerator()
        let rand = (0..<10).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] }
        return date + "-" + String(decoding: rand, as: UTF8.self)
    }

    public static func isValid(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard u.count == 19, u[8] == UInt8(ascii: "-") else { return false }
        for i in 0..<8 where !(48...57).contains(u[i]) { return false }
        for i in 9..<19 where !alphabet.contains(u[i]) { return false }
        return true
    }
}
