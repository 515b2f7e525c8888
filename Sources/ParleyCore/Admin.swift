import Foundation
import Synchronization

/// Who made an admin change: an agent (by id and name) or the command line.
public struct Changer: Codable, Sendable, Equatable {
    public var id: String?
    public var name: String?
    public var email: String?
    /// `cli` for `parley agent …`; nil for an agent.
    public var kind: String?
    public init(id: String? = nil, name: String? = nil, email: String? = nil, kind: String? = nil) {
        self.id = id; self.name = name; self.email = email; self.kind = kind
    }
    public init(_ agent: Agent) { self.init(id: agent.id, name: agent.name, email: agent.email) }
    public static let cli = Changer(kind: "cli")
    public static let system = Changer(kind: "system")
}

/// A team: agents who share a queue. Members are agents listing the team's id; `widgets` are
/// widgets every member may answer (besides the member's own).
public struct Team: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var widgets: [String]
    public init(id: String, name: String, widgets: [String] = []) { self.id = id; self.name = name; self.widgets = widgets }

    enum CodingKeys: String, CodingKey { case id, name, widgets }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? id
        widgets = try c.decodeIfPresent([String].self, forKey: .widgets) ?? []
    }

    /// Problems keyed like `teams[1].id`.
    public static func problems(_ teams: [Team]) -> [String: String] {
        var out: [String: String] = [:]
        var ids = Set<String>()
        if teams.count > 100 { out["teams"] = "At most 100 teams." }
        for (i, t) in teams.enumerated() {
            if !InboxSettings.isCode(t.id) { out["teams[\(i)].id"] = "Use 1–40 letters, digits, - or _." }
            else if !ids.insert(t.id.lowercased()).inserted { out["teams[\(i)].id"] = "The id \(t.id) is used twice." }
            if t.name.nilIfBlank == nil || t.name.count > 60 { out["teams[\(i)].name"] = "The name must have 1–60 characters." }
            for (j, w) in t.widgets.enumerated() where !Widget.isValidID(w) && w != "*" {
                out["teams[\(i)].widgets[\(j)]"] = "Not a widget id."
            }
        }
        return out
    }
}

/// One published version of a widget, a line of `config/history/<id>.jsonl`.
public struct WidgetVersion: Codable, Sendable, Equatable {
    public var version: Int
    public var at: String
    public var by: Changer
    /// Set when this version re-published an older one.
    public var restoredFrom: Int?
    /// Top-level settings that differ from the version before.
    public var changed: [String]
    public var widget: Widget
}

/// A widget's unpublished edits, `config/drafts/<id>.json`.
public struct WidgetDraft: Codable, Sendable, Equatable {
    public var at: String
    public var by: Changer
    public var widget: Widget
    /// 1 for a new draft, +1 at each save: an editor saving or publishing over a draft it has
    /// not seen is refused instead of overwriting someone else's edits.
    public var revision: Int
    public init(at: String, by: Changer, widget: Widget, revision: Int) { self.at = at; self.by = by; self.widget = widget; self.revision = revision }

    enum CodingKeys: String, CodingKey { case at, by, widget, revision }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        at = try c.decode(String.self, forKey: .at)
        by = try c.decode(Changer.self, forKey: .by)
        widget = try c.decode(Widget.self, forKey: .widget)
        revision = try c.decodeIfPresent(Int.self, forKey: .revision) ?? 1
    }
}

/// What an editor's change was based on, checked before it is applied (nil: not checked).
public struct EditBase: Sendable {
    /// The published version the editor loaded.
    public var version: Int?
    /// The draft revision it loaded (0: there was no draft).
    public var revision: Int?
    public init(version: Int? = nil, revision: Int? = nil) { self.version = version; self.revision = revision }
}

/// The admin's view of one widget: what is live, what is being edited.
public struct WidgetState: Sendable {
    /// Published versions so far (0: never published, only a draft).
    public var version: Int
    public var published: Widget?
    public var publishedAt: String?
    public var publishedBy: Changer?
    public var draft: WidgetDraft?
}

/// One line of `config/audit.jsonl`: who changed what, when. Never holds a password or secret.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var at: String
    public var by: Changer
    public var action: String
    public var target: String?
    public var detail: [String: String]?
    /// The line number (1-based), filled in when read.
    public var n: Int?
    public init(at: String, by: Changer, action: String, target: String?, detail: [String: String]? = nil) {
        self.at = at; self.by = by; self.action = action; self.target = target; self.detail = detail
    }
}

/// Append-only JSON-lines files (widget history, audit): each append is one write of one line,
/// fsynced. A torn last line (a crash mid-write) is skipped when read, and the next append starts
/// on a fresh line, so it never glues onto the torn one.
public enum JSONLines {
    public static func append(path: String, line: [UInt8], mode: mode_t = 0o600) throws {
        let existed = FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ParleyError.io("cannot open \(path): \(errnoString())") }
        defer { close(fd) }
        var bytes = line + [0x0A]
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, off_t(st.st_size - 1)) == 1, last != 0x0A { bytes.insert(0x0A, at: 0) }
        }
        try Durable.writeAll(fd: fd, bytes: bytes, path: path)
        guard fsync(fd) == 0 else { throw ParleyError.io("cannot sync \(path): \(errnoString())") }
        if !existed { try Durable.syncDirectory((path as NSString).deletingLastPathComponent) }
    }

    /// The decodable lines in order, with their 1-based line numbers; bad lines are skipped.
    public static func read<T: Decodable>(_ type: T.Type, path: String) -> [(Int, T)] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var out: [(Int, T)] = []
        let dec = JSONDecoder()
        var n = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            n += 1
            guard !line.isEmpty, let v = try? dec.decode(T.self, from: Data(line)) else { continue }
            out.append((n, v))
        }
        return out
    }
}

/// `config/audit.jsonl`: every admin change, append-only.
public final class AuditLog: Sendable {
    public let path: String
    private let lock = Mutex(())
    public init(layout: DataLayout) { path = layout.auditFile }

    public func record(_ by: Changer, _ action: String, target: String? = nil, detail: [String: String]? = nil, now: Date = Date()) throws {
        let entry = AuditEntry(at: Timestamp.format(now), by: by, action: action, target: target, detail: detail?.isEmpty == true ? nil : detail)
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Array(try enc.encode(entry))
        try lock.withLock { _ in
            try Durable.makeDirectory((path as NSString).deletingLastPathComponent)
            try JSONLines.append(path: path, line: line)
        }
    }

    /// Newest first: at most `limit` entries with a line number below `before`.
    public func entries(limit: Int, before: Int? = nil) -> (entries: [AuditEntry], more: Bool) {
        let all = JSONLines.read(AuditEntry.self, path: path).filter { before == nil || $0.0 < before! }
        let page = all.suffix(limit).reversed().map { n, e -> AuditEntry in var e = e; e.n = n; return e }
        return (Array(page), all.count > limit)
    }
}

/// One-time links that let an agent choose a password (an invite, or a reset by an admin):
/// `agentID.epoch.expires.mac`, signed with the server secret. Setting the password bumps the
/// agent's epoch, so a link works once; a newer link (which also bumps it) replaces older ones.
public enum InviteToken {
    public static let lifetime: TimeInterval = 7 * 24 * 3600

    public static func make(agent: Agent, secret: ServerSecret, now: Date = Date()) -> String {
        let body = "\(agent.id).\(agent.sessionEpoch).\(Int(now.timeIntervalSince1970 + lifetime))"
        return body + "." + secret.sign("invite:" + body)
    }

    /// The agent id the token is for, if signed, unexpired and of the agent's current epoch.
    public static func verify(_ token: String, secret: ServerSecret, config: ConfigStore, now: Date = Date()) -> Agent? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, token.count < 300, let epoch = Int(parts[1]), let exp = Double(parts[2]) else { return nil }
        let body = parts[0..<3].joined(separator: ".")
        guard Tokens.constantTimeEqual(secret.sign("invite:" + body), parts[3]), exp > now.timeIntervalSince1970,
              let agent = config.agent(id: parts[0]), !agent.disabled, agent.sessionEpoch == epoch else { return nil }
        return agent
    }
}
