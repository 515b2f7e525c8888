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

    /// An admin who can sign in now: enabled, with a password (an invited one has none yet).
    public var isActiveAdmin: Bool { role == .admin && !disabled && !passwordHash.isEmpty }

    /// Widgets the agent's teams give it (filled in by `ConfigStore` from `teams.json`; not stored).
    public var teamWidgets: [String] = []

    public func canSee(widget: String) -> Bool {
        role == .admin || widgets.contains("*") || widgets.contains(widget) || teamWidgets.contains("*") || teamWidgets.contains(widget)
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
        var agents: [Agent] = [] { didSet { resolveAccess() } }
        /// `agents`, each with the widgets its teams give it: what `agents` hands out, computed
        /// when agents or teams change rather than on every call (every request reads it).
        private(set) var resolvedAgents: [Agent] = []
        var agentsStamp: FileStamp?
        var widgets: [String: Widget] = [:]
        var inbox = InboxSettings()
        var inboxStamp: FileStamp?
        var teams: [Team] = [] { didSet { resolveAccess() } }
        var teamsStamp: FileStamp?
        var rules: [AutomationRule] = []
        var rulesStamp: FileStamp?
        var drafts: [String: WidgetDraft] = [:]
        /// The last history line of each widget that has one.
        var lastVersion: [String: WidgetVersion] = [:]

        mutating func resolveAccess() {
            let teams = self.teams
            resolvedAgents = teams.isEmpty ? agents : agents.map { a in
                var a = a
                a.teamWidgets = teams.filter { a.teams.contains($0.id) }.flatMap(\.widgets)
                return a
            }
        }
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
        try reloadTeamsIfChanged()
        try reloadRulesIfChanged()
    }

    // MARK: widgets

    /// Creates the `demo` widget when no widget exists (a fresh data folder).
    @discardableResult
    public func ensureDemoWidget() throws -> Bool {
        guard state.withLock({ $0.widgets.isEmpty && $0.drafts.isEmpty }) else { return false }
        try writeLock.withLock { _ in _ = try publishLocked(.demo, by: .system, restoredFrom: nil) }
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

    // MARK: drafts, publishing, history

    /// Every widget the admin knows: published ones and those with only a draft.
    public var widgetIDs: [String] {
        state.withLock { Set($0.widgets.keys).union($0.drafts.keys).sorted() }
    }

    public func widgetState(_ id: String) -> WidgetState? {
        state.withLock { s in
            let published = s.widgets[id], draft = s.drafts[id]
            guard published != nil || draft != nil else { return nil }
            let last = s.lastVersion[id]
            // Live settings the history does not have yet (written by hand, or a publish cut
            // short before its history line) count as the next version.
            if let published, published != last?.widget {
                return WidgetState(version: (last?.version ?? 0) + 1, published: published, publishedAt: nil, publishedBy: .system, draft: draft)
            }
            return WidgetState(version: last?.version ?? 0, published: published, publishedAt: last?.at, publishedBy: last?.by, draft: draft)
        }
    }

    /// A new widget: a draft with default settings, live only once published.
    public func createWidget(id: String, name: String, by: Changer, now: Date = Date()) throws -> WidgetState {
        var w = Widget(id: id, name: name.trimmingCharacters(in: .whitespacesAndNewlines))
        w.organisation = nil
        var problems = w.problems().filter { $0.key == "id" || $0.key == "name" }
        if !Widget.isValidID(id) { problems["id"] = "Use 1–40 lowercase letters, digits, - or _." }
        if !problems.isEmpty { throw ParleyError.invalid(problems) }
        try writeLock.withLock { _ in
            if widgetState(id) != nil { throw ParleyError.refused(code: "widget_exists", message: "A widget with id \(id) already exists.") }
            try writeDraftLocked(WidgetDraft(at: Timestamp.format(now), by: by, widget: w, revision: 1))
        }
        return widgetState(id)!
    }

    /// Refuses a change based on an older published version or draft than the current ones.
    private func check(_ base: EditBase, against st: WidgetState) throws {
        if let v = base.version, v != st.version {
            throw ParleyError.refused(code: "version_conflict",
                                      message: "Version \(st.version) was published since you started editing (you had version \(v)). Reload to see it.")
        }
        if let r = base.revision, r != (st.draft?.revision ?? 0) {
            let who = st.draft?.by.name ?? st.draft?.by.email ?? "someone"
            throw ParleyError.refused(code: "draft_conflict",
                                      message: st.draft == nil ? "The draft was published or discarded since you loaded it. Reload to see the live settings."
                                                               : "\(who) saved this draft since you loaded it. Reload to see their changes.")
        }
    }

    /// Saves the admin's edits of a widget as its draft (validated; nothing goes live). Returns
    /// the new state and what the draft was before (for the audit).
    public func saveDraft(_ w: Widget, by: Changer, base: EditBase = EditBase(), now: Date = Date()) throws -> (WidgetState, Widget?) {
        let problems = w.problems()
        if !problems.isEmpty { throw ParleyError.invalid(problems) }
        return try writeLock.withLock { _ in
            guard let st = widgetState(w.id) else { throw ParleyError.widgetNotFound(w.id) }
            try check(base, against: st)
            try writeDraftLocked(WidgetDraft(at: Timestamp.format(now), by: by, widget: w, revision: (st.draft?.revision ?? 0) + 1))
            return (widgetState(w.id)!, st.draft?.widget ?? st.published)
        }
    }

    public func discardDraft(_ id: String, base: EditBase = EditBase()) throws -> WidgetState {
        try writeLock.withLock { _ in
            guard let st = widgetState(id) else { throw ParleyError.widgetNotFound(id) }
            try check(base, against: st)
            guard st.draft != nil else { throw ParleyError.refused(code: "no_draft", message: "This widget has no draft.") }
            if st.published == nil {
                throw ParleyError.refused(code: "never_published", message: "This widget was never published: its draft is all there is.")
            }
            try removeDraftLocked(id)
            return widgetState(id)!
        }
    }

    /// Publishes the draft as the next version. `base`: the version and draft revision the
    /// editor had; if someone published or saved since, the call is refused rather than putting
    /// live what the editor has not seen.
    public func publish(_ id: String, by: Changer, base: EditBase = EditBase(), now: Date = Date()) throws -> (WidgetState, WidgetVersion) {
        try writeLock.withLock { _ in
            guard let st = widgetState(id) else { throw ParleyError.widgetNotFound(id) }
            guard let draft = st.draft else { throw ParleyError.refused(code: "no_draft", message: "There is no draft to publish.") }
            try check(base, against: st)
            let problems = draft.widget.problems()
            if !problems.isEmpty { throw ParleyError.invalid(problems) }
            let v = try publishLocked(draft.widget, by: by, restoredFrom: nil, now: now)
            try removeDraftLocked(id)
            return (widgetState(id)!, v)
        }
    }

    /// Publishes an earlier version's settings again, as a new version; any draft is discarded.
    /// An old version that would not pass today's checks (written by hand) is refused.
    public func restore(_ id: String, version: Int, by: Changer, now: Date = Date()) throws -> (WidgetState, WidgetVersion) {
        try writeLock.withLock { _ in
            guard widgetState(id) != nil else { throw ParleyError.widgetNotFound(id) }
            guard let old = versions(id).first(where: { $0.version == version }) else {
                throw ParleyError.refused(code: "version_not_found", message: "Widget \(id) has no version \(version).")
            }
            let problems = old.widget.problems()
            if !problems.isEmpty {
                throw ParleyError.invalid(problems, message: "Version \(version) has settings that are no longer accepted; edit the draft instead.")
            }
            let v = try publishLocked(old.widget, by: by, restoredFrom: version, now: now)
            if state.withLock({ $0.drafts[id] != nil }) { try removeDraftLocked(id) }
            return (widgetState(id)!, v)
        }
    }

    /// Every published version, oldest first. The live file is the truth: live settings the
    /// history does not have yet (a widget written by hand or before history existed, or a
    /// publish cut short between the live file and its history line) show as a last version
    /// by `system`, with no time; the next publish records it for good.
    public func versions(_ id: String) -> [WidgetVersion] {
        var lines = JSONLines.read(WidgetVersion.self, path: historyPath(id)).map(\.1)
        if let live = widget(id), live != lines.last?.widget {
            lines.append(WidgetVersion(version: (lines.last?.version ?? 0) + 1, at: "", by: .system, restoredFrom: nil,
                                       changed: lines.last.map { Widget.changedKeys(from: $0.widget, to: live) } ?? [], widget: live))
        }
        return lines
    }

    func historyPath(_ id: String) -> String { "\(layout.history)/\(id).jsonl" }
    func draftPath(_ id: String) -> String { "\(layout.drafts)/\(id).json" }

    /// The live file first, then its history line: a crash between the two leaves live settings
    /// the history lacks, which `versions` shows (and the next publish records) as a version.
    private func publishLocked(_ w: Widget, by: Changer, restoredFrom: Int?, now: Date = Date()) throws -> WidgetVersion {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try Durable.makeDirectory(layout.history)
        var previous = versions(w.id)
        if var unrecorded = previous.last, unrecorded.at.isEmpty {
            unrecorded.at = Timestamp.format(now)
            try JSONLines.append(path: historyPath(w.id), line: Array(try enc.encode(unrecorded)))
            previous[previous.count - 1] = unrecorded
        }
        let v = WidgetVersion(version: (previous.last?.version ?? 0) + 1, at: Timestamp.format(now), by: by,
                              restoredFrom: restoredFrom, changed: previous.last.map { Widget.changedKeys(from: $0.widget, to: w) } ?? [], widget: w)
        try saveWidget(w)
        try JSONLines.append(path: historyPath(w.id), line: Array(try enc.encode(v)))
        state.withLock { $0.lastVersion[w.id] = v }
        return v
    }

    private func writeDraftLocked(_ d: WidgetDraft) throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Durable.makeDirectory(layout.drafts)
        try Durable.replace(path: draftPath(d.widget.id), bytes: Array(try enc.encode(d)) + [0x0A], mode: 0o600)
        state.withLock { $0.drafts[d.widget.id] = d }
    }

    private func removeDraftLocked(_ id: String) throws {
        if unlink(draftPath(id)) != 0 && errno != ENOENT { throw ParleyError.io("cannot remove the draft of \(id): \(errnoString())") }
        try Durable.syncDirectory(layout.drafts)
        state.withLock { $0.drafts[id] = nil }
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
        var drafts: [String: WidgetDraft] = [:]
        for f in (try? FileManager.default.contentsOfDirectory(atPath: layout.drafts)) ?? [] where f.hasSuffix(".json") && !f.hasPrefix(".") {
            let path = "\(layout.drafts)/\(f)"
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            do {
                let d = try JSONDecoder().decode(WidgetDraft.self, from: data)
                drafts[d.widget.id] = d
            } catch {
                throw ParleyError.corrupt("\(path) is not a valid widget draft: \(error)")
            }
        }
        var last: [String: WidgetVersion] = [:]
        for f in (try? FileManager.default.contentsOfDirectory(atPath: layout.history)) ?? [] where f.hasSuffix(".jsonl") && !f.hasPrefix(".") {
            guard let v = JSONLines.read(WidgetVersion.self, path: "\(layout.history)/\(f)").last?.1 else { continue }
            last[v.widget.id] = v
        }
        state.withLock { s in s.widgets = out; s.drafts = drafts; s.lastVersion = last }
    }

    // MARK: teams

    /// Teams, re-read when `config/teams.json` changes.
    public var teams: [Team] {
        _ = try? reloadTeamsIfChanged()
        return state.withLock { $0.teams }
    }

    public func saveTeams(_ teams: [Team]) throws {
        let problems = Team.problems(teams)
        if !problems.isEmpty { throw ParleyError.invalid(problems) }
        try writeJSON(teams, path: layout.teamsFile) { s, stamp in s.teams = teams; s.teamsStamp = stamp }
    }

    private func reloadTeamsIfChanged() throws {
        let stamp = FileStamp(path: layout.teamsFile)
        if stamp == state.withLock({ $0.teamsStamp }) { return }
        guard stamp != nil else { state.withLock { $0.teams = []; $0.teamsStamp = nil }; return }
        let list: [Team]
        do { list = try JSONDecoder().decode([Team].self, from: FileManager.default.contents(atPath: layout.teamsFile) ?? Data()) } catch {
            throw ParleyError.corrupt("\(layout.teamsFile) is not a valid teams file: \(error)")
        }
        state.withLock { $0.teams = list; $0.teamsStamp = stamp }
    }

    // MARK: automated actions

    /// The rules in evaluation order, re-read when `config/rules.json` changes (a file broken
    /// while serving keeps the last good rules; start-up refuses it).
    public var rules: [AutomationRule] {
        _ = try? reloadRulesIfChanged()
        return state.withLock { $0.rules }
    }

    public func saveRules(_ rules: [AutomationRule]) throws {
        let problems = Self.problems(rules)
        if !problems.isEmpty { throw ParleyError.invalid(problems) }
        try writeJSON(RuleFile(rules: rules), path: layout.rulesFile) { s, stamp in s.rules = rules; s.rulesStamp = stamp }
    }

    struct RuleFile: Codable { var rules: [AutomationRule] }

    /// Problems keyed like `rules[1].conditions[0].value`.
    public static func problems(_ rules: [AutomationRule]) -> [String: String] {
        var out: [String: String] = [:]
        var ids = Set<String>()
        if rules.count > 200 { out["rules"] = "At most 200 rules." }
        for (i, r) in rules.enumerated() {
            for (k, v) in r.problems() { out["rules[\(i)].\(k)"] = v }
            if out["rules[\(i)].id"] == nil, !ids.insert(r.id).inserted { out["rules[\(i)].id"] = "The id \(r.id) is used twice." }
        }
        return out
    }

    private func reloadRulesIfChanged() throws {
        let stamp = FileStamp(path: layout.rulesFile)
        if stamp == state.withLock({ $0.rulesStamp }) { return }
        guard stamp != nil else { state.withLock { $0.rules = []; $0.rulesStamp = nil }; return }
        let file: RuleFile
        do { file = try JSONDecoder().decode(RuleFile.self, from: FileManager.default.contents(atPath: layout.rulesFile) ?? Data()) } catch {
            throw ParleyError.corrupt("\(layout.rulesFile) is not a valid rules file: \(error)")
        }
        let problems = Self.problems(file.rules)
        if !problems.isEmpty {
            throw ParleyError.corrupt("\(layout.rulesFile): " + problems.keys.sorted().map { "\($0): \(problems[$0] ?? "")" }.joined(separator: "; "))
        }
        state.withLock { $0.rules = file.rules; $0.rulesStamp = stamp }
    }

    /// Replaces a config file with `value` (pretty JSON) under the write lock and records it.
    private func writeJSON<T: Encodable>(_ value: T, path: String, mode: mode_t = 0o644, _ apply: (inout State, FileStamp?) -> Void) throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try enc.encode(value)) + [0x0A]
        try writeLock.withLock { _ in
            try Durable.makeDirectory(layout.config)
            try Durable.replace(path: path, bytes: bytes, mode: mode)
            let stamp = FileStamp(path: path)
            state.withLock { apply(&$0, stamp) }
        }
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
        var settings = settings
        // An empty widget list means every widget, the same as none: stored as none.
        for i in settings.dispositions.indices where settings.dispositions[i].widgets?.isEmpty == true { settings.dispositions[i].widgets = nil }
        for i in settings.canned.indices where settings.canned[i].widgets?.isEmpty == true { settings.canned[i].widgets = nil }
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

    /// The agents, each with the widgets its teams give it.
    public var agents: [Agent] {
        _ = try? reloadAgentsIfChanged()
        _ = try? reloadTeamsIfChanged()
        return state.withLock { $0.resolvedAgents }
    }

    public func agent(id: String) -> Agent? { agents.first { $0.id == id } }
    public func agent(email: String) -> Agent? {
        let e = email.lowercased()
        return agents.first { $0.email == e }
    }
    public var hasAdmin: Bool { agents.contains(where: \.isActiveAdmin) }

    /// Adds an agent; the email must be new and valid, the password long enough. Without a
    /// password the agent cannot sign in until it sets one through an invite link.
    @discardableResult
    public func addAgent(email: String, name: String, role: Agent.Role, password: String?, widgets: [String],
                         teams: [String] = [], now: Date = Date()) throws -> Agent {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        var errors: [String: String] = [:]
        if !FormValidator.isEmail(email) || email.count > 254 { errors["email"] = "Not a valid email address." }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 80 { errors["name"] = "The name must have 1–80 characters." }
        if let password {
            do { try Passwords.validate(password) } catch ParleyError.invalid(let f, _) { errors.merge(f) { a, _ in a } }
        }
        errors.merge(Self.accessProblems(widgets: widgets, teams: teams)) { a, _ in a }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
        let hash = password.map(Passwords.hash) ?? ""
        return try mutateAgents { list in
            if list.contains(where: { $0.email == email }) {
                throw ParleyError.refused(code: "agent_exists", message: "An agent with email \(email) already exists.")
            }
            var a = Agent(id: "a_" + Tokens.random(bytes: 6), email: email, name: name, role: role,
                          passwordHash: hash, widgets: widgets, createdAt: Timestamp.format(now))
            a.teams = teams
            list.append(a)
            return a
        }
    }

    static func accessProblems(widgets: [String], teams: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for (i, w) in widgets.enumerated() where w != "*" && !Widget.isValidID(w) { out["widgets[\(i)]"] = "Not a widget id." }
        for (i, t) in teams.enumerated() where !InboxSettings.isCode(t) { out["teams[\(i)]"] = "Not a team id." }
        return out
    }

    /// What an admin may change on an agent (nil: unchanged).
    public struct AgentChange: Sendable {
        public var name: String?
        public var role: Agent.Role?
        public var widgets: [String]?
        public var teams: [String]?
        public var disabled: Bool?
        public init(name: String? = nil, role: Agent.Role? = nil, widgets: [String]? = nil, teams: [String]? = nil, disabled: Bool? = nil) {
            self.name = name; self.role = role; self.widgets = widgets; self.teams = teams; self.disabled = disabled
        }
    }

    /// Changes an agent; refuses to leave no active admin. Disabling, or losing the admin role,
    /// ends the agent's sessions.
    public func changeAgent(id: String, _ change: AgentChange) throws -> Agent {
        var errors = Self.accessProblems(widgets: change.widgets ?? [], teams: change.teams ?? [])
        let name = change.name?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let name, name.isEmpty || name.count > 80 { errors["name"] = "The name must have 1–80 characters." }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
        return try mutateAgents { list in
            guard let i = list.firstIndex(where: { $0.id == id }) else { throw ParleyError.refused(code: "agent_not_found", message: "No agent with id \(id).") }
            var a = list[i]
            let wasAdmin = a.isActiveAdmin
            if let name { a.name = name }
            if let r = change.role { a.role = r }
            if let w = change.widgets { a.widgets = w }
            if let t = change.teams { a.teams = t }
            if let d = change.disabled { a.disabled = d }
            if wasAdmin && !a.isActiveAdmin {
                if !list.contains(where: { $0.id != id && $0.isActiveAdmin }) {
                    throw ParleyError.refused(code: "last_admin", message: "\(a.email) is the last admin: make another agent admin first.")
                }
            }
            if (a.disabled && !list[i].disabled) || (list[i].role == .admin && a.role != .admin) { a.sessionEpoch += 1 }
            list[i] = a
            return a
        }
    }

    /// Sets an agent's password by id (ends its sessions), or with nil clears it for a reset
    /// link (the old password stops working, and so do older links).
    public func resetPassword(id: String, password: String?) throws -> Agent {
        if let password { try Passwords.validate(password) }
        let hash = password.map(Passwords.hash) ?? ""
        return try mutateAgents { list in
            guard let i = list.firstIndex(where: { $0.id == id }) else { throw ParleyError.refused(code: "agent_not_found", message: "No agent with id \(id).") }
            if password == nil && list[i].disabled {
                throw ParleyError.refused(code: "agent_disabled", message: "\(list[i].email) is disabled: enable the account before sending a reset link.")
            }
            if password == nil && list[i].isActiveAdmin && !list.contains(where: { $0.id != id && $0.isActiveAdmin }) {
                throw ParleyError.refused(code: "last_admin", message: "\(list[i].email) is the last admin: a reset link would leave nobody able to sign in. Set a new password instead.")
            }
            list[i].passwordHash = hash
            list[i].sessionEpoch += 1
            return list[i]
        }
    }

    /// Changes an agent's password and ends its other sessions.
    public func setPassword(email: String, password: String) throws {
        try Passwords.validate(password)
        let hash = Passwords.hash(password)
        try updateAgent(email: email) { $0.passwordHash = hash; $0.sessionEpoch += 1 }
    }

    /// Sets the password an invite link was made for, if the link is still current (same epoch):
    /// checked under the write lock, so one link sets one password.
    public func redeemInvite(id: String, epoch: Int, password: String) throws -> Agent {
        try Passwords.validate(password)
        let hash = Passwords.hash(password)
        return try mutateAgents { list in
            guard let i = list.firstIndex(where: { $0.id == id }), list[i].sessionEpoch == epoch, !list[i].disabled else {
                throw ParleyError.refused(code: "invite_invalid", message: "This link was used, replaced or has expired.")
            }
            list[i].passwordHash = hash
            list[i].sessionEpoch += 1
            return list[i]
        }
    }

    /// Disables an agent (ends its sessions). The last active admin cannot be disabled.
    public func disableAgent(email: String) throws {
        let e = email.lowercased()
        try mutateAgents { list in
            guard let i = list.firstIndex(where: { $0.email == e }) else { throw ParleyError.invalid(["email": "No agent with email \(e)."]) }
            if list[i].isActiveAdmin && !list.contains(where: { $0.id != list[i].id && $0.isActiveAdmin }) {
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
