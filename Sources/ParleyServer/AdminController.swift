import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore

/// The admin console's API (`/api/admin/…`, admin role): widgets with drafts, publishing and
/// history; agents and teams; inbox settings; automated actions; the audit log. Every change is
/// written to `config/audit.jsonl`. Also the invite links (`/api/invite`, no session) and, with
/// `--test-clock`, `/api/test/clock`.
struct AdminController {
    let services: ParleyServices

    func addRoutes(to router: Router<ParleyContext>) {
        let g = router.group("api/admin")
        g.get("widgets", use: listWidgets)
        g.post("widgets", use: createWidget)
        g.get("widgets/:widget", use: getWidget)
        g.put("widgets/:widget/draft", use: saveDraft)
        g.delete("widgets/:widget/draft", use: discardDraft)
        g.post("widgets/:widget/publish", use: publish)
        g.get("widgets/:widget/versions", use: versions)
        g.get("widgets/:widget/versions/:version", use: version)
        g.post("widgets/:widget/versions/:version/restore", use: restore)
        g.post("widgets/:widget/preview", use: preview)
        g.get("timezones", use: timeZones)
        g.get("defaults", use: defaults)
        g.get("agents", use: agents)
        g.post("agents", use: addAgent)
        g.patch("agents/:agent", use: changeAgent)
        g.post("agents/:agent/password", use: password)
        g.get("teams", use: teams)
        g.put("teams", use: saveTeams)
        g.get("inbox", use: inbox)
        g.put("inbox", use: saveInbox)
        g.get("rules", use: rules)
        g.put("rules", use: saveRules)
        g.get("audit", use: audit)
        g.post("erase", use: erase)
        g.post("purge", use: purge)
        router.get("api/invite", use: inviteState)
        router.post("api/invite", use: acceptInvite)
        if services.settings.testClock {
            router.post("api/test/clock", use: setClock)
        }
    }

    // MARK: helpers

    func admin(_ request: Request) throws -> Agent {
        let agent = try services.signedInAgent(request)
        guard agent.role == .admin else { throw APIError(.forbidden, "admin_only", "This needs an admin account.") }
        return agent
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try enc.encode(value))
    }

    static func json<T: Encodable>(_ value: T, _ status: HTTPResponse.Status = .ok) throws -> Response {
        JSONResponse.make(status, bytes: try encode(value))
    }

    /// Appends the audit line of a change already made. The change is durable by now: if the
    /// audit write fails, the admin still gets the change's answer and the server log says so.
    func record(_ by: Agent, _ action: String, _ target: String?, _ detail: [String: String]? = nil) async {
        let audit = services.audit
        do { try await blocking { try audit.record(Changer(by), action, target: target, detail: detail) } } catch {
            services.logger.error("could not write the audit log", metadata: ["action": "\(action)", "error": "\(error)"])
        }
    }

    /// `?version=N&revision=R`: what the editor's change is based on.
    func editBase(_ request: Request) throws -> EditBase {
        let q = request.uri.queryParameters
        return EditBase(version: q.get("version") == nil ? nil : try request.intQuery("version", default: 0, range: 0...Int.max),
                        revision: q.get("revision") == nil ? nil : try request.intQuery("revision", default: 0, range: 0...Int.max))
    }

    func widgetID(_ context: ParleyContext) throws -> String {
        let id = try context.parameters.require("widget")
        guard Widget.isValidID(id) else { throw ParleyError.widgetNotFound(id) }
        return id
    }

    // MARK: widgets

    struct WidgetAnswer: Encodable {
        var id: String
        var version: Int
        var published: Widget?
        var publishedAt: String?
        var publishedBy: Changer?
        var draft: Widget?
        var draftAt: String?
        var draftBy: Changer?
        var draftRevision: Int
        var warnings: [String]

        init(_ id: String, _ st: WidgetState) {
            self.id = id; version = st.version; published = st.published; publishedAt = st.publishedAt
            publishedBy = st.publishedBy; draft = st.draft?.widget; draftAt = st.draft?.at; draftBy = st.draft?.by
            draftRevision = st.draft?.revision ?? 0
            warnings = (st.draft?.widget ?? st.published)?.warnings ?? []
        }

        func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id); try c.encode(version, forKey: .version)
            try c.encode(published, forKey: .published); try c.encode(publishedAt, forKey: .publishedAt)
            try c.encode(publishedBy, forKey: .publishedBy); try c.encode(draft, forKey: .draft)
            try c.encode(draftAt, forKey: .draftAt); try c.encode(draftBy, forKey: .draftBy)
            try c.encode(draftRevision, forKey: .draftRevision); try c.encode(warnings, forKey: .warnings)
        }
        enum CodingKeys: String, CodingKey { case id, version, published, publishedAt, publishedBy, draft, draftAt, draftBy, draftRevision, warnings }
    }

    func state(_ id: String) throws -> WidgetState {
        guard let st = services.config.widgetState(id) else { throw ParleyError.widgetNotFound(id) }
        return st
    }

    @Sendable func listWidgets(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        let config = services.config
        return JSONResponse.make { w in
            w.beginObject(); w.key("widgets"); w.beginArray()
            for id in config.widgetIDs {
                guard let st = config.widgetState(id) else { continue }
                let current = st.draft?.widget ?? st.published
                w.beginObject()
                w.key("id"); w.string(id)
                w.key("name"); w.string(current?.name ?? id)
                w.key("version"); w.int(st.version)
                w.key("publishedAt"); w.optional(st.publishedAt)
                w.key("hasDraft"); w.bool(st.draft != nil)
                w.key("draftAt"); w.optional(st.draft?.at)
                w.key("warnings"); w.beginArray(); for x in current?.warnings ?? [] { w.string(x) }; w.endArray()
                w.endObject()
            }
            w.endArray(); w.endObject()
        }
    }

    struct CreateBody: Decodable { var id: String; var name: String }

    @Sendable func createWidget(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let body = try await request.decodeJSON(CreateBody.self, context: context)
        let config = services.config
        let st = try await blocking { try config.createWidget(id: body.id, name: body.name, by: Changer(me)) }
        await record(me, "widget.create", body.id, ["name": body.name])
        return try Self.json(WidgetAnswer(body.id, st), .created)
    }

    @Sendable func getWidget(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        let id = try widgetID(context)
        return try Self.json(WidgetAnswer(id, try state(id)))
    }

    @Sendable func saveDraft(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let id = try widgetID(context)
        let w = try await request.decodeJSON(Widget.self, context: context)
        guard w.id == id else { throw ParleyError.invalid(["id": "The id cannot change (it is in the shop's embed code)."]) }
        let base = try editBase(request)
        let config = services.config
        let (st, before) = try await blocking { try config.saveDraft(w, by: Changer(me), base: base) }
        let changed = Widget.changedKeys(from: before, to: w)
        await record(me, "widget.draft", id, ["changed": changed.joined(separator: ", ")])
        return try Self.json(WidgetAnswer(id, st))
    }

    @Sendable func discardDraft(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let id = try widgetID(context)
        let config = services.config
        let base = try editBase(request)
        let st = try await blocking { try config.discardDraft(id, base: base) }
        await record(me, "widget.discard", id)
        return try Self.json(WidgetAnswer(id, st))
    }

    struct PublishBody: Decodable { var version: Int?; var revision: Int? }

    @Sendable func publish(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let id = try widgetID(context)
        let body = try await request.decodeJSON(PublishBody.self, context: context, emptyAs: "{}")
        let config = services.config
        let (st, v) = try await blocking { try config.publish(id, by: Changer(me), base: EditBase(version: body.version, revision: body.revision)) }
        await record(me, "widget.publish", id, ["version": "\(v.version)", "changed": v.changed.joined(separator: ", ")])
        return try Self.json(WidgetAnswer(id, st))
    }

    struct VersionSummary: Encodable {
        var version: Int, at: String, by: Changer, restoredFrom: Int?, changed: [String]
        func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: CodingKeys.self)
            try c.encode(version, forKey: .version); try c.encode(at, forKey: .at); try c.encode(by, forKey: .by)
            try c.encode(restoredFrom, forKey: .restoredFrom); try c.encode(changed, forKey: .changed)
        }
        enum CodingKeys: String, CodingKey { case version, at, by, restoredFrom, changed }
    }

    @Sendable func versions(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        let id = try widgetID(context)
        _ = try state(id)
        let config = services.config
        let list = try await blocking { config.versions(id) }.reversed().map {
            VersionSummary(version: $0.version, at: $0.at, by: $0.by, restoredFrom: $0.restoredFrom, changed: $0.changed)
        }
        return try Self.json(["versions": list])
    }

    func versionNumber(_ context: ParleyContext) throws -> Int {
        guard let n = Int(try context.parameters.require("version")), n > 0 else {
            throw APIError(.notFound, "version_not_found", "Versions are numbered from 1.")
        }
        return n
    }

    @Sendable func version(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        let id = try widgetID(context)
        let n = try versionNumber(context)
        _ = try state(id)
        let config = services.config
        guard let v = try await blocking({ config.versions(id) }).first(where: { $0.version == n }) else {
            throw APIError(.notFound, "version_not_found", "Widget \(id) has no version \(n).")
        }
        var out = JSONText()
        out.beginObject()
        out.key("version"); out.int(v.version); out.key("at"); out.string(v.at)
        out.key("by"); out.raw(try Self.encode(v.by))
        out.key("restoredFrom"); if let r = v.restoredFrom { out.int(r) } else { out.null() }
        out.key("changed"); out.beginArray(); for c in v.changed { out.string(c) }; out.endArray()
        out.key("widget"); out.raw(try Self.encode(v.widget))
        out.endObject()
        return JSONResponse.make(bytes: out.bytes)
    }

    @Sendable func restore(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let id = try widgetID(context)
        let n = try versionNumber(context)
        _ = try state(id)
        let config = services.config
        let st: WidgetState, v: WidgetVersion
        do { (st, v) = try await blocking { try config.restore(id, version: n, by: Changer(me)) } } catch ParleyError.refused("version_not_found", let m) {
            throw APIError(.notFound, "version_not_found", m)
        }
        await record(me, "widget.restore", id, ["version": "\(v.version)", "restoredFrom": "\(n)"])
        return try Self.json(WidgetAnswer(id, st))
    }

    /// The loader's config for unsaved settings, for the editor's live preview. Saves nothing.
    @Sendable func preview(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        let id = try widgetID(context)
        _ = try state(id)
        let w = try await request.decodeJSON(Widget.self, context: context)
        guard w.id == id else { throw ParleyError.invalid(["id": "The id cannot change."]) }
        let problems = w.problems()
        if !problems.isEmpty { throw ParleyError.invalid(problems) }
        return VisitorController.publicConfig(w, services: services)
    }

    @Sendable func timeZones(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        // Linux's Foundation lists no UTC; shops that want it should find it.
        let zones = Set(TimeZone.knownTimeZoneIdentifiers.filter { $0.contains("/") } + ["UTC"]).sorted()
        return try Self.json(["timeZones": zones])
    }

    @Sendable func defaults(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        return try Self.json(["widget": Widget(id: "", name: "")])
    }

    // MARK: agents

    struct AgentView: Encodable {
        var id: String, email: String, name: String, role: String, disabled: Bool
        var widgets: [String], teams: [String], createdAt: String, passwordSet: Bool
        init(_ a: Agent) {
            id = a.id; email = a.email; name = a.name; role = a.role.rawValue; disabled = a.disabled
            widgets = a.widgets; teams = a.teams; createdAt = a.createdAt; passwordSet = !a.passwordHash.isEmpty
        }
    }

    struct AgentAnswer: Encodable {
        var agent: AgentView
        var invite: String?
        func encode(to e: any Encoder) throws {
            var c = e.container(keyedBy: CodingKeys.self)
            try c.encode(agent, forKey: .agent); try c.encode(invite, forKey: .invite)
        }
        enum CodingKeys: String, CodingKey { case agent, invite }
    }

    @Sendable func agents(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        let list = services.config.agents.sorted { $0.email < $1.email }.map(AgentView.init)
        return try Self.json(["agents": list])
    }

    /// The invite link for `agent`, on the host the admin is using.
    func inviteLink(_ agent: Agent, _ request: Request, _ context: ParleyContext) -> String {
        services.baseURL(request, context) + "/setup?invite=" + InviteToken.make(agent: agent, secret: services.secret)
    }

    /// The agent named in the path, or 404.
    func agentID(_ context: ParleyContext) throws -> String {
        let id = try context.parameters.require("agent")
        guard services.config.agent(id: id) != nil else { throw APIError(.notFound, "agent_not_found", "No agent with id \(id).") }
        return id
    }

    struct AddAgentBody: Decodable {
        var email: String; var name: String; var role: Agent.Role?; var widgets: [String]?; var teams: [String]?; var password: String?
    }

    @Sendable func addAgent(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let body = try await request.decodeJSON(AddAgentBody.self, context: context)
        let config = services.config
        let role = body.role ?? .agent
        let a = try await blocking {
            try config.addAgent(email: body.email, name: body.name, role: role, password: body.password?.nilIfEmpty,
                                widgets: body.widgets ?? [], teams: body.teams ?? [])
        }
        await record(me, "agent.add", a.email, ["role": a.role.rawValue, "invite": body.password?.nilIfEmpty == nil ? "yes" : "no"])
        let invite = a.passwordHash.isEmpty ? inviteLink(a, request, context) : nil
        return try Self.json(AgentAnswer(agent: AgentView(a), invite: invite), .created)
    }

    struct ChangeAgentBody: Decodable {
        var name: String?; var role: Agent.Role?; var widgets: [String]?; var teams: [String]?; var disabled: Bool?
    }

    @Sendable func changeAgent(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let id = try agentID(context)
        let body = try await request.decodeJSON(ChangeAgentBody.self, context: context)
        let config = services.config
        let change = ConfigStore.AgentChange(name: body.name, role: body.role, widgets: body.widgets, teams: body.teams, disabled: body.disabled)
        let a = try await blocking { try config.changeAgent(id: id, change) }
        var detail: [String: String] = [:]
        if let r = body.role { detail["role"] = r.rawValue }
        if let d = body.disabled { detail["disabled"] = d ? "yes" : "no" }
        if let w = body.widgets { detail["widgets"] = w.joined(separator: ", ") }
        if let t = body.teams { detail["teams"] = t.joined(separator: ", ") }
        if body.name != nil { detail["name"] = a.name }
        await record(me, "agent.update", a.email, detail)
        return try Self.json(AgentAnswer(agent: AgentView(a), invite: nil))
    }

    struct PasswordBody: Decodable { var password: String? }

    @Sendable func password(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let id = try agentID(context)
        let body = try await request.decodeJSON(PasswordBody.self, context: context, emptyAs: "{}")
        let config = services.config
        let pw = body.password?.nilIfEmpty
        let a = try await blocking { try config.resetPassword(id: id, password: pw) }
        await record(me, pw == nil ? "agent.invite" : "agent.password", a.email)
        return try Self.json(AgentAnswer(agent: AgentView(a), invite: pw == nil ? inviteLink(a, request, context) : nil))
    }

    // MARK: invites (no session: the token is the credential)

    @Sendable func inviteState(_ request: Request, context: ParleyContext) async throws -> Response {
        let token = request.uri.queryParameters.get("token") ?? ""
        guard let a = InviteToken.verify(token, secret: services.secret, config: services.config) else { throw Self.inviteGone }
        return JSONResponse.make { w in
            w.beginObject(); w.key("email"); w.string(a.email); w.key("name"); w.string(a.name); w.endObject()
        }
    }

    static let inviteGone = APIError(.gone, "invite_invalid", "This link was used, replaced or has expired. Ask your admin for a new one.")

    struct InviteBody: Decodable { var token: String; var password: String }

    @Sendable func acceptInvite(_ request: Request, context: ParleyContext) async throws -> Response {
        let body = try await request.decodeJSON(InviteBody.self, context: context)
        try services.limiter.take("invite:\(context.clientIP)", AgentController.loginIPRule)
        try Passwords.validate(body.password)
        let services = self.services
        // Checked and spent under the agents' write lock: one link sets one password.
        let a: Agent
        do {
            a = try await blocking {
                guard let a = InviteToken.verify(body.token, secret: services.secret, config: services.config) else { throw Self.inviteGone }
                return try services.config.redeemInvite(id: a.id, epoch: a.sessionEpoch, password: body.password)
            }
        } catch ParleyError.refused("invite_invalid", _) {
            throw Self.inviteGone  // lost a race with another use of the same link
        }
        await record(a, "agent.password.set", a.email)
        return JSONResponse.make { w in w.beginObject(); w.key("email"); w.string(a.email); w.endObject() }
    }

    // MARK: teams, inbox settings, rules

    @Sendable func teams(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        return try Self.json(["teams": services.config.teams])
    }

    @Sendable func saveTeams(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let body = try await request.decodeJSON([String: [Team]].self, context: context)
        guard let list = body["teams"] else { throw ParleyError.invalid(["teams": "Send {\"teams\": […]}."]) }
        let config = services.config
        try await blocking { try config.saveTeams(list) }
        await record(me, "teams.update", nil, ["teams": list.map(\.id).joined(separator: ", ")])
        return try Self.json(["teams": config.teams])
    }

    @Sendable func inbox(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        return try Self.json(services.config.inbox)
    }

    @Sendable func saveInbox(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let settings = try await request.decodeJSON(InboxSettings.self, context: context)
        let config = services.config
        try await blocking { try config.saveInbox(settings) }
        await record(me, "inbox.update", nil, ["dispositions": "\(settings.dispositions.count)", "canned": "\(settings.canned.count)"])
        return try Self.json(config.inbox)
    }

    @Sendable func rules(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        return try Self.json(["rules": services.config.rules])
    }

    @Sendable func saveRules(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let body = try await request.decodeJSON([String: [AutomationRule]].self, context: context)
        guard let list = body["rules"] else { throw ParleyError.invalid(["rules": "Send {\"rules\": […]}."]) }
        let config = services.config
        try await blocking { try config.saveRules(list) }
        await record(me, "rules.update", nil, ["rules": list.map(\.id).joined(separator: ", ")])
        return try Self.json(["rules": config.rules])
    }

    // MARK: erase and purge (while serving)

    struct EraseBody: Decodable { var email: String }

    /// Right to be forgotten from the admin page: the visitor's tickets leave the store (no more
    /// writes; out of the journal), then their files and the contact entry are removed. Other
    /// logs that mention the email are counted, not rewritten: their writers are live, and
    /// `parley erase` (server stopped) removes those mentions too.
    @Sendable func erase(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let body = try await request.decodeJSON(EraseBody.self, context: context)
        let email: String
        do { email = try DataTools.normalized(body.email) } catch { throw ParleyError.invalid(["email": "Not a valid email address."]) }
        let ids = services.store.summaries { $0.visitorEmail == email }.map(\.id)
        try await services.store.forget(ids)
        let layout = services.layout, contacts = services.contacts
        let removed = try await blocking { try DataTools.remove(ids, layout: layout) }
        let contact = try await blocking { try contacts.remove(email: email) }
        let mentions = try await blocking { try DataTools.mentions(of: email, layout: layout) }
        await record(me, "erased", nil, ["tickets": "\(ids.count)", "files": "\(removed.files)", "mentionedElsewhere": "\(mentions)"])
        return JSONResponse.make { w in
            w.beginObject()
            w.key("tickets"); w.int(ids.count); w.key("files"); w.int(removed.files)
            w.key("contact"); w.bool(contact); w.key("mentionedElsewhere"); w.int(mentions)
            w.endObject()
        }
    }

    struct PurgeBody: Decodable { var closedBefore: String; var dryRun: Bool? }

    /// Retention from the admin page: closed tickets last closed before a date.
    @Sendable func purge(_ request: Request, context: ParleyContext) async throws -> Response {
        let me = try admin(request)
        let body = try await request.decodeJSON(PurgeBody.self, context: context)
        guard let date = Timestamp.parseLoose(body.closedBefore) else {
            throw ParleyError.invalid(["closedBefore": "Use a date like 2026-01-31."])
        }
        // Read from the files (not through the store, which would keep every log in memory).
        let candidates = services.store.summaries(where: { $0.status == .closed }).map(\.id)
        let layout = services.layout
        let ids: [String] = try await blocking {
            candidates.filter { id in
                guard let path = layout.ticketPath(id), let log = try? TicketLog.read(path: path) else { return false }
                return DataTools.closedAt(log.events).map { $0 < date } ?? false
            }
        }
        let purged = ids.sorted()
        var files = 0
        if body.dryRun != true {
            try await services.store.forget(purged)
            files = try await blocking { try DataTools.remove(purged, layout: layout) }.files
            await record(me, "purged", nil, ["tickets": "\(purged.count)", "closedBefore": Timestamp.format(date)])
        }
        return JSONResponse.make { w in
            w.beginObject()
            w.key("tickets"); w.beginArray(); for id in purged { w.string(id) }; w.endArray()
            w.key("files"); w.int(files); w.key("dryRun"); w.bool(body.dryRun == true)
            w.endObject()
        }
    }

    // MARK: audit

    @Sendable func audit(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try admin(request)
        let limit = try request.intQuery("limit", default: 100, range: 1...1000)
        let before = try request.intQuery("before", default: 0, range: 0...Int.max)
        let audit = services.audit
        let page = try await blocking { audit.entries(limit: limit, before: before == 0 ? nil : before) }
        var out = JSONText()
        out.beginObject()
        out.key("entries"); out.raw(try Self.encode(page.entries))
        out.key("more"); out.bool(page.more)
        out.endObject()
        return JSONResponse.make(bytes: out.bytes)
    }

    // MARK: test clock

    struct ClockBody: Decodable { var now: String? }

    @Sendable func setClock(_ request: Request, context: ParleyContext) async throws -> Response {
        // Tests only, and only from this machine (or an in-process test client, which has no address).
        guard ["127.0.0.1", "::1", "::ffff:127.0.0.1", "unknown"].contains(context.clientIP) else {
            throw APIError(.forbidden, "loopback_only", "The test clock is set from the server's own machine only.")
        }
        let body = try await request.decodeJSON(ClockBody.self, context: context)
        var date: Date?
        if let s = body.now {
            guard let d = Timestamp.parseLoose(s) else {
                throw ParleyError.invalid(["now": "Use an RFC 3339 time such as 2026-11-21T10:00:00Z."])
            }
            date = d
        }
        services.setClock(date)
        return JSONResponse.make { w in w.beginObject(); w.key("now"); w.string(Timestamp.format(services.now())); w.endObject() }
    }
}
