import Foundation
import HummingbirdBcrypt
import Synchronization

/// A person who answers chats. `widgets` lists the widgets the agent may see (`*` = all);
/// admins see every widget.
public struct Agent: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable, CaseIterable { case agent, admin }
    public var id: String
    public var email: String
    public var name: String
    public var role: Role
    public var passwordHash: String
    public var disabled: Bool
    public var widgets: [String]
    public var teams: [String]
    /// Bumped when the password changes or the agent is disabled: older sessions stop working.
    public var sessionEpoch: Int
    public var createdAt: String

    public func canSee(widget: String) -> Bool {
        role == .admin || widgets.contains("*") || widgets.contains(widget)
    }

    enum CodingKeys: String, CodingKey { case id, email, name, role, passwordHash, disabled, widgets, teams, sessionEpoch, createdAt }
    public init(id: String, email: String, name: String, role: Role, passwordHash: String, widgets: [String], createdAt: String) {
        self.id = id; self.email = email; self.name = name; self.role = role; self.passwordHash = passwordHash
        self.disabled = false; self.widgets = widgets; self.teams = []; self.sessionEpoch = 0; self.createdAt = createdAt
    }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        email = try c.decode(String.self, forKey: .email)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? email
        role = try c.decodeIfPresent(Role.self, forKey: .role) ?? .agent
        passwordHash = try c.decodeIfPresent(String.self, forKey: .passwordHash) ?? ""
        disabled = try c.decodeIfPresent(Bool.self, forKey: .disabled) ?? false
        widgets = try c.decodeIfPresent([String].self, forKey: .widgets) ?? []
        teams = try c.decodeIfPresent([String].self, forKey: .teams) ?? []
        sessionEpoch = try c.decodeIfPresent(Int.self, forKey: .sessionEpoch) ?? 0
        createdAt = try c.decodeIfPresent(String.self, forKey: .createdAt) ?? ""
    }
}

/// Password hashing (bcrypt). Slow on purpose: call it off the event loop.
public enum Passwords {
    /// bcrypt cost; tests lower it through `PARLEY_BCRYPT_COST` to stay fast.
    public static var cost: UInt8 {
        if let s = ProcessInfo.processInfo.environment["PARLEY_BCRYPT_COST"], let v = UInt8(s), (4...31).contains(v) { return v }
        return 12
    }
    public static let minimumLength = 10
    public static let maximumLength = 72  // bcrypt ignores bytes past 72

    public static func validate(_ password: String) throws {
        if password.count < minimumLength {
            throw ParleyError.invalid(["password": "The password must have at least \(minimumLength) characters."])
        }
        if password.utf8.count > maximumLength {
            throw ParleyError.invalid(["password": "The password must have at most \(maximumLength) bytes."])
        }
    }
    public static func hash(_ password: String) -> String { Bcrypt.hash(password, cost: cost) }
    public static func verify(_ password: String, hash: String) -> Bool {
        guard !hash.isEmpty else { return false }
        return Bcrypt.verify(password, hash: hash)
    }
    /// A hash to verify against when the email is unknown, so timing does not reveal which emails exist.
    public static let decoy: String = Bcrypt.hash("decoy-password-never-used", cost: cost)
}

/// Agents and widgets, kept as small JSON files under `config/` and replaced atomically.
/// The agents file is re-read when it changes on disk, so `parley agent …` works while serving.
public final class ConfigStore: Sendable {
    public let layout: DataLayout
    private struct State {
        var agents: [Agent] = []
        var agentsStamp: FileStamp?
        var widgets: [String: Widget] = [:]
        var inbox = InboxSettings()
        var inboxStamp: FileStamp?
    }
    private let state = Mutex(State())
    private let writeLock = Mutex(())

    /// Reads the config folder; creates nothing (a CLI command refused for bad input leaves no
    /// trace). Folders are made when a file is first written.
    public init(layout: DataLayout) throws {
        self.layout = layout
        try reloadAgentsIfChanged()
        try loadWidgets()
        try reloadInboxIfChanged()
    }

    // MARK: widgets

    /// Creates the `demo` widget when no widget exists (a fresh data folder).
    @discardableResult
    public func ensureDemoWidget() throws -> Bool {
        guard state.withLock({ $0.widgets.isEmpty }) else { return false }
        try saveWidget(.demo)
        return true
    }

    public func widget(_ id: String) -> Widget? { state.withLock { $0.widgets[id] } }
    public var widgets: [Widget] { state.withLock { $0.widgets.values.sorted { $0.id < $1.id } } }

    public func saveWidget(_ w: Widget) throws {
        guard Widget.isValidID(w.id) else { throw ParleyError.invalid(["id": "Use 1–40 lowercase letters, digits, - or _."]) }
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(w)
        try Durable.makeDirectory(layout.widgets)
        // 0600: a widget file may hold the identity secret.
        try Durable.replace(path: "\(layout.widgets)/\(w.id).json", bytes: Array(data) + [0x0A], mode: 0o600)
        state.withLock { $0.widgets[w.id] = w }
    }

    private func loadWidgets() throws {
        var out: [String: Widget] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: layout.widgets)) ?? []
        for f in files where f.hasSuffix(".json") && !f.hasPrefix(".") {
            let path = "\(layout.widgets)/\(f)"
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            do {
                let w = try JSONDecoder().decode(Widget.self, from: data)
                out[w.id] = w
            } catch {
                throw ParleyError.corrupt("\(path) is not a valid widget: \(error)")
            }
        }
        state.withLock { $0.widgets = out }
    }

    // MARK: inbox settings

    /// Disposition codes and canned responses, re-read when `config/inbox.json` changes. A file
    /// broken while serving keeps the last good settings (`parley check` names the problem);
    /// start-up refuses a broken file.
    public var inbox: InboxSettings {
        _ = try? reloadInboxIfChanged()
        return state.withLock { $0.inbox }
    }

    public func saveInbox(_ settings: InboxSettings) throws {
        let problems = settings.problems()
        if !problems.isEmpty { throw ParleyError.invalid(problems) }
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeLock.withLock { _ in
            try Durable.makeDirectory(layout.config)
            try Durable.replace(path: layout.inboxFile, bytes: Array(try enc.encode(settings)) + [0x0A], mode: 0o644)
            let stamp = FileStamp(path: layout.inboxFile)
            state.withLock { $0.inbox = settings; $0.inboxStamp = stamp }
        }
    }

    private func reloadInboxIfChanged() throws {
        let stamp = FileStamp(path: layout.inboxFile)
        if stamp == state.withLock({ $0.inboxStamp }) { return }
        guard stamp != nil else { state.withLock { $0.inbox = InboxSettings(); $0.inboxStamp = nil }; return }
        let loaded = try InboxSettings.load(path: layout.inboxFile)
        state.withLock { $0.inbox = loaded; $0.inboxStamp = stamp }
    }

    // MARK: agents

    public var agents: [Agent] { _ = try? reloadAgentsIfChanged(); return state.withLock { $0.agents } }

    public func agent(id: String) -> Agent? { agents.first { $0.id == id } }
    public func agent(email: String) -> Agent? {
        let e = email.lowercased()
        return agents.first { $0.email == e }
    }
    public var hasAdmin: Bool { agents.contains { $0.role == .admin && !$0.disabled } }

    /// Adds an agent; the email must be new and valid, the password long enough.
    @discardableResult
    public func addAgent(email: String, name: String, role: Agent.Role, password: String, widgets: [String], now: Date = Date()) throws -> Agent {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        var errors: [String: String] = [:]
        if !FormValidator.isEmail(email) { errors["email"] = "Not a valid email address." }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 80 { errors["name"] = "The name must have 1–80 characters." }
        do { try Passwords.validate(password) } catch ParleyError.invalid(let f, _) { errors.merge(f) { a, _ in a } }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
        let hash = Passwords.hash(password)
        return try mutateAgents { list in
            if list.contains(where: { $0.email == email }) { throw ParleyError.conflict("An agent with email \(email) already exists.") }
            let a = Agent(id: "a_" + Tokens.random(bytes: 6), email: email, name: name, role: role,
                          passwordHash: hash, widgets: widgets, createdAt: Timestamp.format(now))
            list.append(a)
            return a
        }
    }

    /// Changes an agent's password and ends its other sessions.
    public func setPassword(email: String, password: String) throws {
        try Passwords.validate(password)
        let hash = Passwords.hash(password)
        try updateAgent(email: email) { $0.passwordHash = hash; $0.sessionEpoch += 1 }
    }

    /// Disables an agent (ends its sessions). The last active admin cannot be disabled.
    public func disableAgent(email: String) throws {
        let e = email.lowercased()
        try mutateAgents { list in
            guard let i = list.firstIndex(where: { $0.email == e }) else { throw ParleyError.invalid(["email": "No agent with email \(e)."]) }
            if list[i].role == .admin && list.filter({ $0.role == .admin && !$0.disabled }).count == 1 && !list[i].disabled {
                throw ParleyError.conflict("\(e) is the last admin and cannot be disabled.")
            }
            list[i].disabled = true
            list[i].sessionEpoch += 1
        }
    }

    public func updateAgent(email: String, _ change: (inout Agent) -> Void) throws {
        let e = email.lowercased()
        try mutateAgents { list in
            guard let i = list.firstIndex(where: { $0.email == e }) else { throw ParleyError.invalid(["email": "No agent with email \(e)."]) }
            change(&list[i])
        }
    }

    private func mutateAgents<T>(_ body: (inout [Agent]) throws -> T) throws -> T {
        try writeLock.withLock { _ in
            try reloadAgentsIfChanged()
            var list = state.withLock { $0.agents }
            let result = try body(&list)
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try Durable.makeDirectory(layout.config)
            try Durable.replace(path: layout.agentsFile, bytes: Array(try enc.encode(list)) + [0x0A], mode: 0o600)
            let stamp = FileStamp(path: layout.agentsFile)
            state.withLock { $0.agents = list; $0.agentsStamp = stamp }
            return result
        }
    }

    private func reloadAgentsIfChanged() throws {
        let stamp = FileStamp(path: layout.agentsFile)
        if stamp == state.withLock({ $0.agentsStamp }) { return }
        guard let stamp else { state.withLock { $0.agents = []; $0.agentsStamp = nil }; return }
        guard let data = FileManager.default.contents(atPath: layout.agentsFile) else { return }
        let list: [Agent]
        do { list = try JSONDecoder().decode([Agent].self, from: data) } catch {
            throw ParleyError.corrupt("\(layout.agentsFile) is not a valid agents file: \(error)")
        }
        state.withLock { $0.agents = list; $0.agentsStamp = stamp }
    }
}

/// Identity of a file's current version (inode, size, mtime), to notice replacements.
public struct FileStamp: Equatable, Sendable {
    let inode: UInt64, size: Int64, mtime: Int, mtimeNanos: Int
    /// A regular file (not a folder, device or socket).
    public let isRegular: Bool
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        inode = UInt64(st.st_ino); size = Int64(st.st_size)
        mtime = Int(st.st_mtim.tv_sec); mtimeNanos = Int(st.st_mtim.tv_nsec)
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
    }
}
