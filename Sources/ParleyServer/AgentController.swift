import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import ParleyCore

/// The agent side: login, the ticket list, one ticket, and every action on it. Authorised by
/// the session cookie; an agent only reaches tickets of widgets it was given (admins: all).
struct AgentController {
    let services: ParleyServices

    static let loginIPRule = RateLimiter.Rule(burst: 10, perSecond: 10.0 / 60)
    static let loginEmailRule = RateLimiter.Rule(burst: 5, perSecond: 1.0 / 60)

    func addRoutes(to router: Router<ParleyContext>) {
        let g = router.group("api/agent")
        g.post("login", use: login)
        g.post("logout", use: logout)
        g.get("me", use: me)
        g.get("tickets", use: list)
        g.get("tickets/:ticket", use: show)
        g.post("tickets/:ticket/open", use: openTicket)
        g.post("tickets/:ticket/messages", use: postMessage)
        g.post("tickets/:ticket/typing", use: typing)
        g.post("tickets/:ticket/notes", use: note)
        g.post("tickets/:ticket/status", use: status)
        g.post("tickets/:ticket/priority", use: priority)
        g.post("tickets/:ticket/tags", use: tags)
        g.post("tickets/:ticket/assign", use: assign)
        g.post("tickets/:ticket/close", use: closeTicket)
        g.post("tickets/:ticket/reopen", use: reopen)
        g.post("tickets/:ticket/takeover", use: takeover)
        g.post("tickets/:ticket/wrapup", use: wrapup)
        g.post("tickets/:ticket/autoreply", use: autoreply)
        g.get("contacts", use: contacts)
        g.post("contacts", use: addContact)
        g.get("agents", use: agents)
        g.get("live", use: live)
        router.post("api/setup", use: setup)
        router.get("api/setup", use: setupState)
    }

    // MARK: auth

    func currentAgent(_ request: Request) throws -> Agent { try services.signedInAgent(request) }

    func visibleTicket(_ request: Request, context: ParleyContext) throws -> (Agent, TicketSummary) {
        let agent = try currentAgent(request)
        let id = try context.parameters.require("ticket")
        guard TicketID.isValid(id), let t = services.store.summary(id) else { throw ParleyError.ticketNotFound }
        guard agent.canSee(widget: t.widget) else {
            throw APIError(.forbidden, "widget_forbidden", "You do not have access to the widget \(t.widget).")
        }
        return (agent, t)
    }

    func sessionCookie(_ value: String, context: ParleyContext, maxAge: Int) -> Cookie {
        let secure = context.isHTTPS
        return Cookie(name: Sessions.cookieName, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func agentJSON(_ a: Agent, _ w: inout JSONText) {
        w.beginObject()
        w.key("id"); w.string(a.id); w.key("email"); w.string(a.email); w.key("name"); w.string(a.name)
        w.key("role"); w.string(a.role.rawValue)
        w.key("widgets"); w.beginArray(); for x in a.widgets { w.string(x) }; w.endArray()
        w.key("teams"); w.beginArray(); for x in a.teams { w.string(x) }; w.endArray()
        w.endObject()
    }

    struct LoginBody: Decodable { var email: String; var password: String }

    @Sendable func login(_ request: Request, context: ParleyContext) async throws -> Response {
        let body = try await request.decodeJSON(LoginBody.self, context: context)
        let email = body.email.trimmingCharacters(in: .whitespaces).lowercased()
        try services.limiter.take("login-ip:\(context.clientIP)", Self.loginIPRule)
        try services.limiter.take("login-email:\(email)", Self.loginEmailRule)
        let agent = services.config.agent(email: email)
        // An agent with no password yet (invited) costs the same bcrypt as any other attempt.
        let hash = agent?.passwordHash.nilIfEmpty ?? Passwords.decoy
        // bcrypt is slow on purpose: keep it off the event loops.
        let ok = try await NIOThreadPool.singleton.runIfActive { Passwords.verify(body.password, hash: hash) }
        guard ok, let agent, !agent.passwordHash.isEmpty else {
            throw APIError(.unauthorized, "invalid_credentials", "Wrong email or password.")
        }
        guard !agent.disabled else { throw APIError(.forbidden, "account_disabled", "This account is disabled. Ask your admin.") }
        var r = JSONResponse.make { w in w.beginObject(); w.key("agent"); Self.agentJSON(agent, &w); w.endObject() }
        r.setCookie(sessionCookie(services.sessions.create(for: agent), context: context, maxAge: Int(Sessions.lifetime)))
        return r
    }

    @Sendable func logout(_ request: Request, context: ParleyContext) async throws -> Response {
        if let v = request.cookies[Sessions.cookieName]?.value { services.sessions.revoke(v, config: services.config) }
        var r = Response(status: .noContent)
        r.setCookie(sessionCookie("", context: context, maxAge: 0))
        return r
    }

    @Sendable func me(_ request: Request, context: ParleyContext) async throws -> Response {
        let agent = try currentAgent(request)
        let widgets = services.config.widgets.filter { agent.canSee(widget: $0.id) }
        let inbox = services.config.inbox
        let base = services.baseURL(request, context)
        return JSONResponse.make { w in
            w.beginObject()
            w.key("agent"); Self.agentJSON(agent, &w)
            // Where shops load the widget from (the embed code): the public URL, or this host.
            w.key("publicURL"); w.string(base)
            w.key("widgets"); w.beginArray()
            for x in widgets {
                w.beginObject(); w.key("id"); w.string(x.id); w.key("name"); w.string(x.name)
                w.key("targetResponseSeconds"); w.int(x.targetResponseSeconds)
                w.key("typingPreview"); w.bool(x.typingPreview); w.endObject()
            }
            w.endArray()
            w.key("dispositions"); w.beginArray()
            // Only what applies to a widget this agent sees.
            for d in inbox.dispositions where d.applies(where: agent.canSee) {
                w.beginObject(); w.key("code"); w.string(d.code); w.key("label"); w.string(d.label)
                Self.widgetList(d.widgets, &w); w.endObject()
            }
            w.endArray()
            w.key("canned"); w.beginArray()
            for c in inbox.canned where c.applies(where: agent.canSee) {
                w.beginObject(); w.key("shortcut"); w.string(c.shortcut); w.key("title"); w.string(c.title)
                w.key("text"); w.string(c.text); Self.widgetList(c.widgets, &w); w.endObject()
            }
            w.endArray()
            w.endObject()
        }
    }

    static func widgetList(_ list: [String]?, _ w: inout JSONText) {
        guard let list, !list.isEmpty else { return }
        w.key("widgets"); w.beginArray(); for x in list { w.string(x) }; w.endArray()
    }

    struct SetupBody: Decodable { var token: String; var email: String; var name: String; var password: String }

    /// Creates the first admin with the one-time link printed at start-up.
    @Sendable func setup(_ request: Request, context: ParleyContext) async throws -> Response {
        let body = try await request.decodeJSON(SetupBody.self, context: context)
        guard services.setupToken != nil else {
            throw APIError(.gone, "setup_done", "An admin already exists; sign in at /agent.")
        }
        try services.limiter.take("setup:\(context.clientIP)", Self.loginIPRule)
        let services = self.services
        let agent: Agent
        do {
            agent = try await NIOThreadPool.singleton.runIfActive {
                try services.completeSetup(token: body.token, email: body.email, name: body.name, password: body.password)
            }
        } catch ParleyError.conflict("setup_done") {
            throw APIError(.gone, "setup_done", "An admin already exists; sign in at /agent.")
        } catch ParleyError.forbidden("invalid_setup_token") {
            throw APIError(.forbidden, "invalid_setup_token", "This setup link is not valid. Use the link the server printed at start-up.")
        }
        try? await blocking { try services.audit.record(Changer(agent), "setup.admin", target: agent.email) }
        var r = JSONResponse.make(.created) { w in w.beginObject(); w.key("agent"); Self.agentJSON(agent, &w); w.endObject() }
        r.setCookie(sessionCookie(services.sessions.create(for: agent), context: context, maxAge: Int(Sessions.lifetime)))
        return r
    }

    /// Whether the first admin still has to be created (the setup page asks on load).
    @Sendable func setupState(_ request: Request, context: ParleyContext) async throws -> Response {
        let needed = services.setupToken != nil
        return JSONResponse.make { w in w.beginObject(); w.key("setupNeeded"); w.bool(needed); w.endObject() }
    }

    // MARK: tickets

    @Sendable func list(_ request: Request, context: ParleyContext) async throws -> Response {
        let agent = try currentAgent(request)
        let q = request.uri.queryParameters
        // One status, several separated by commas, or `active` (open and pending); empty = any.
        let statuses = try q.get("status").flatMap { raw -> Set<TicketStatus>? in
            var out = Set<TicketStatus>()
            for part in raw.split(separator: ",") {
                if part == "active" { out.formUnion([.open, .pending]); continue }
                guard let v = TicketStatus(rawValue: String(part)) else {
                    throw APIError(.badRequest, "invalid_query", "status must be open, pending, closed or active (or several, separated by commas).")
                }
                out.insert(v)
            }
            return out.isEmpty ? nil : out
        }
        let widget = q.get("widget").map { String($0) }
        let tag = q.get("tag").map { String($0) }
        let assignee = q.get("assignee").map { String($0) }
        let email = q.get("email").map { String($0).lowercased() }
        let text = q.get("q").map { String($0).lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        let limit = try request.intQuery("limit", default: 200, range: 1...1000)
        // Pages of `limit` from `offset`; `total` says how many match (the inbox pages through all).
        let offset = try request.intQuery("offset", default: 0, range: 0...Int(Int32.max))
        var rows = services.store.summaries { s in
            guard agent.canSee(widget: s.widget) else { return false }
            if let statuses, !statuses.contains(s.status) { return false }
            if let widget, s.widget != widget { return false }
            if let tag, !s.tags.contains(tag) { return false }
            if let assignee {
                switch assignee {
                case "me": if s.assignee != agent.id { return false }
                case "none": if s.assignee != nil { return false }
                default: if s.assignee != assignee { return false }
                }
            }
            if let email, s.visitorEmail != email { return false }
            if let text {
                let hay = [s.id, s.visitorName ?? "", s.visitorEmail ?? "", s.subject ?? "", s.lastMessagePreview ?? ""]
                    .joined(separator: "\n").lowercased()
                if !hay.contains(text) { return false }
            }
            return true
        }
        rows.sort {
            let a = $0.lastMessageAt ?? $0.createdAt, b = $1.lastMessageAt ?? $1.createdAt
            return a != b ? a > b : $0.id < $1.id  // ties by id, so pages do not overlap or skip
        }
        let total = rows.count
        return JSONResponse.make { w in
            w.beginObject()
            w.key("tickets"); w.beginArray(); for s in rows.dropFirst(offset).prefix(limit) { w.raw(s.json()) }; w.endArray()
            w.key("total"); w.int(total)
            w.endObject()
        }
    }

    @Sendable func show(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let uploads = services.uploads
        let events = try await services.store.events(ticket: t.id).map { e -> TicketEvent in
            guard e.type == EventType.attachment, let a = e.attachment,
                  !FileManager.default.fileExists(atPath: uploads.attachmentPath(ticket: t.id, id: a.id)) else { return e }
            var marked = e
            marked.attachment?.missing = true
            return marked
        }
        let previous = t.visitorEmail.map { email in
            services.store.summaries { $0.visitorEmail == email && $0.id != t.id && agent.canSee(widget: $0.widget) }
                .sorted { $0.createdAt > $1.createdAt }
        } ?? []
        return JSONResponse.make { w in
            w.beginObject()
            w.key("ticket"); w.raw((services.store.summary(t.id) ?? t).json())
            w.key("events"); w.beginArray(); for e in events { w.raw(e.json()) }; w.endArray()
            w.key("previous"); w.beginArray(); for p in previous.prefix(20) { w.raw(p.json()) }; w.endArray()
            w.key("contact"); w.bool(t.visitorEmail.flatMap { services.contacts.contact(email: $0) } != nil)
            w.endObject()
        }
    }

    /// Replying, ending the chat and changing its status belong to the agent who holds the ticket
    /// (or anyone while nobody does); others take it over first. Checked inside the writer where it can be.
    static func requireHolder(_ agent: Agent, _ s: TicketSummary, _ what: String) throws {
        if let holder = s.assignee, holder != agent.id {
            throw APIError(.conflict, "assigned_elsewhere", "\(s.assigneeName ?? "Another agent") has this chat; take it over to \(what).")
        }
    }

    func actor(_ a: Agent) -> EventActor { EventActor(kind: .agent, id: a.id, name: a.name) }

    /// Opening a ticket assigns it to the caller if nobody has it, and tells the visitor the
    /// agent joined.
    @Sendable func openTicket(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let me = actor(agent)
        // Decided inside the ticket's writer, so two agents opening at once cannot both take it.
        let r = try await services.store.update(ticket: t.id) { s in
            var drafts: [TicketEvent] = []
            guard s.status != .closed else { return drafts }
            if s.assignee == nil {
                var a = TicketEvent(type: EventType.assigned, by: me)
                a.agent = agent.id; a.agentName = agent.name
                drafts.append(a)
            }
            if (s.assignee == nil || s.assignee == agent.id) && !s.joinedAgents.contains(agent.id) {
                drafts.append(TicketEvent(type: EventType.agentJoined, by: me))
            }
            return drafts
        }
        return JSONResponse.make { w in
            w.beginObject()
            w.key("ticket"); w.raw(r.summary.json())
            w.key("events"); w.beginArray(); for e in r.events { w.raw(e.json()) }; w.endArray()
            w.endObject()
        }
    }

    @Sendable func postMessage(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(VisitorController.MessageBody.self, context: context)
        let draft = try MessageRules.draft(body.id, body.text, body.attachments, by: actor(agent))
        if t.status == .closed {
            throw APIError(.conflict, "ticket_closed", "This ticket is closed; reopen it to reply.")
        }
        try Self.requireHolder(agent, t, "reply")
        return MessageRules.response(try await services.store.append(ticket: t.id, [draft], clientId: body.id))
    }

    @Sendable func typing(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        services.hub.publishTyping(ticket: t.id, widget: t.widget, by: actor(agent), text: nil, toVisitor: true, toAgents: true)
        return Response(status: .noContent)
    }

    struct NoteBody: Decodable { var text: String }

    @Sendable func note(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(NoteBody.self, context: context)
        let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { throw ParleyError.invalid(["text": "The note cannot be empty."]) }
        if text.count > Limits.messageLength { throw ParleyError.invalid(["text": "The note is too long (at most \(Limits.messageLength) characters)."]) }
        var e = TicketEvent(type: EventType.note, by: actor(agent))
        e.text = text
        return try await appended(t, [e])
    }

    struct StatusBody: Decodable { var status: String }

    @Sendable func status(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(StatusBody.self, context: context)
        guard let status = TicketStatus(rawValue: body.status) else {
            throw ParleyError.invalid(["status": "Use open, pending or closed."])
        }
        let me = actor(agent)
        return try await changed(t) { s in
            if status == s.status { return [] }
            if s.status != .closed { try Self.requireHolder(agent, s, "change its status") }  // reopening is anyone's
            var e = TicketEvent(type: EventType.status, by: me)
            e.status = status.rawValue
            return [e]
        }
    }

    struct PriorityBody: Decodable { var priority: String }

    @Sendable func priority(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(PriorityBody.self, context: context)
        guard let priority = TicketPriority(rawValue: body.priority) else {
            throw ParleyError.invalid(["priority": "Use low, normal, high or urgent."])
        }
        let me = actor(agent)
        return try await changed(t) { s in
            if priority == s.priority { return [] }
            var e = TicketEvent(type: EventType.priority, by: me)
            e.priority = priority.rawValue
            return [e]
        }
    }

    struct TagsBody: Decodable { var add: [String]?; var remove: [String]? }

    @Sendable func tags(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(TagsBody.self, context: context)
        var add: [String] = []
        for raw in body.add ?? [] {
            guard let tag = Tag.normalized(raw) else { throw ParleyError.invalid(["add": Tag.rule]) }
            if !add.contains(tag) { add.append(tag) }
        }
        var remove: [String] = []
        for raw in body.remove ?? [] {
            let tag = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if !remove.contains(tag) { remove.append(tag) }
        }
        let me = actor(agent), toAdd = add, toRemove = remove
        return try await changed(t) { s in
            var drafts: [TicketEvent] = []
            for tag in toAdd where !s.tags.contains(tag) {
                var e = TicketEvent(type: EventType.tagAdded, by: me); e.tag = tag; drafts.append(e)
            }
            for tag in toRemove where s.tags.contains(tag) {
                var e = TicketEvent(type: EventType.tagRemoved, by: me); e.tag = tag; drafts.append(e)
            }
            return drafts
        }
    }

    /// Appends what `build` makes of the ticket's current state, decided inside its writer;
    /// nothing to change answers 200 with no events.
    func changed(_ t: TicketSummary, _ build: @escaping @Sendable (TicketSummary) throws -> [TicketEvent]) async throws -> Response {
        let r = try await services.store.update(ticket: t.id, build)
        return r.events.isEmpty ? JSONResponse.events([]) : appendedResponse(r)
    }

    struct AssignBody: Decodable { var agent: String?; var team: String? }

    @Sendable func assign(_ request: Request, context: ParleyContext) async throws -> Response {
        let (me, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(AssignBody.self, context: context)
        var e = TicketEvent(type: EventType.assigned, by: actor(me))
        if let id = body.agent {
            guard let target = services.config.agent(id: id), !target.disabled else {
                throw ParleyError.invalid(["agent": "No active agent with id \(id)."])
            }
            guard target.canSee(widget: t.widget) else {
                throw ParleyError.invalid(["agent": "\(target.name) has no access to the widget \(t.widget)."])
            }
            e.agent = target.id; e.agentName = target.name
        }
        if let team = body.team?.trimmingCharacters(in: .whitespaces), !team.isEmpty {
            guard team.count <= 60 else { throw ParleyError.invalid(["team": "The team name is too long."]) }
            e.team = team
        }
        return try await appended(t, [e])
    }

    struct CloseBody: Decodable { var disposition: String?; var notes: String? }

    /// Ends the chat: an optional wrap-up (disposition and notes), then status closed.
    @Sendable func closeTicket(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body: CloseBody = request.headers[.contentLength] == "0" || request.headers[.contentLength] == nil && request.headers[.contentType] == nil
            ? CloseBody() : try await request.decodeJSON(CloseBody.self, context: context)
        let (disposition, notes) = try wrapupFields(body, widget: t.widget)
        let me = actor(agent)
        let r = try await services.store.update(ticket: t.id) { s in
            if s.status == .closed { throw APIError(.conflict, "ticket_closed", "This ticket is already closed.") }
            try Self.requireHolder(agent, s, "end it")
            var drafts: [TicketEvent] = []
            if disposition != nil || notes != nil {
                var w = TicketEvent(type: EventType.wrapup, by: me); w.disposition = disposition; w.notes = notes
                drafts.append(w)
            }
            var st = TicketEvent(type: EventType.status, by: me); st.status = TicketStatus.closed.rawValue
            drafts.append(st)
            return drafts
        }
        return appendedResponse(r)
    }

    /// The disposition (one of the codes configured for the widget) and notes of a wrap-up,
    /// trimmed; empty ones are nil.
    func wrapupFields(_ body: CloseBody, widget: String) throws -> (String?, String?) {
        var errors: [String: String] = [:]
        let disposition = body.disposition?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        let notes = body.notes?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        if let d = disposition {
            let codes = services.config.inbox.dispositions(for: widget).map(\.code)
            if codes.isEmpty {
                errors["disposition"] = "No disposition codes are set up for this widget."
            } else if !codes.contains(d) {
                errors["disposition"] = "Unknown disposition \(d.prefix(80)); use one of: \(codes.joined(separator: ", "))."
            }
        }
        if let n = notes, n.count > Limits.messageLength { errors["notes"] = "The notes are too long (at most \(Limits.messageLength) characters)." }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
        return (disposition, notes)
    }

    /// Records a wrap-up (usually right after the chat ended).
    @Sendable func wrapup(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(CloseBody.self, context: context)
        let (disposition, notes) = try wrapupFields(body, widget: t.widget)
        if disposition == nil && notes == nil {
            throw ParleyError.invalid(["notes": "Choose a disposition or write a note."])
        }
        var e = TicketEvent(type: EventType.wrapup, by: actor(agent))
        e.disposition = disposition; e.notes = notes
        return try await appended(t, [e])
    }

    /// Takes a ticket another agent holds: an `assigned` event marked as a take-over, naming who
    /// had it, and the taker joins the conversation.
    @Sendable func takeover(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let me = actor(agent)
        return try await changed(t) { s in
            if s.status == .closed { throw APIError(.conflict, "ticket_closed", "This ticket is closed; reopen it first.") }
            var drafts: [TicketEvent] = []
            if s.assignee != agent.id {
                var a = TicketEvent(type: EventType.assigned, by: me)
                a.agent = agent.id; a.agentName = agent.name
                if let from = s.assignee { a.takeover = true; a.fromAgent = from; a.fromAgentName = s.assigneeName }
                drafts.append(a)
            }
            if !s.joinedAgents.contains(agent.id) { drafts.append(TicketEvent(type: EventType.agentJoined, by: me)) }
            return drafts
        }
    }

    struct AutoreplyBody: Decodable { var skip: Bool }

    /// Sets or clears the ticket's "skip the next auto-reply" flag.
    @Sendable func autoreply(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let body = try await request.decodeJSON(AutoreplyBody.self, context: context)
        let me = actor(agent), skip = body.skip
        return try await changed(t) { s in
            if s.skipNextAutoReply == skip { return [] }
            var e = TicketEvent(type: EventType.autoreplySkip, by: me); e.skip = skip
            return [e]
        }
    }

    static func contactJSON(_ c: Contact, _ w: inout JSONText) {
        w.beginObject()
        w.key("email"); w.string(c.email); w.field("name", c.name)
        w.key("addedAt"); w.string(c.addedAt); w.key("addedBy"); w.string(c.addedBy)
        w.endObject()
    }

    @Sendable func contacts(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try currentAgent(request)
        let list = services.contacts.all
        return JSONResponse.make { w in
            w.beginObject(); w.key("contacts"); w.beginArray(); for c in list { Self.contactJSON(c, &w) }; w.endArray(); w.endObject()
        }
    }

    struct ContactBody: Decodable { var ticket: String }

    /// Saves a ticket's visitor (name and email) to the contacts.
    @Sendable func addContact(_ request: Request, context: ParleyContext) async throws -> Response {
        let agent = try currentAgent(request)
        let body = try await request.decodeJSON(ContactBody.self, context: context)
        guard TicketID.isValid(body.ticket), let t = services.store.summary(body.ticket), agent.canSee(widget: t.widget) else {
            throw ParleyError.ticketNotFound
        }
        guard let email = t.visitorEmail else {
            throw APIError(.unprocessableContent, "no_email", "This visitor gave no email address.", fields: ["ticket": "The visitor gave no email address."])
        }
        let services = self.services
        let (c, added) = try await NIOThreadPool.singleton.runIfActive {
            try services.contacts.add(email: email, name: t.visitorName, by: agent.id)
        }
        return JSONResponse.make(added ? .created : .ok) { w in w.beginObject(); w.key("contact"); Self.contactJSON(c, &w); w.endObject() }
    }

    /// Active agents, for the assignee picker; `online` = has the inbox open.
    @Sendable func agents(_ request: Request, context: ParleyContext) async throws -> Response {
        _ = try currentAgent(request)
        let online = services.hub.onlineAgents
        let list = services.config.agents.filter { !$0.disabled }.sorted { $0.name.lowercased() < $1.name.lowercased() }
        return JSONResponse.make { w in
            w.beginObject(); w.key("agents"); w.beginArray()
            for a in list {
                w.beginObject()
                w.key("id"); w.string(a.id); w.key("name"); w.string(a.name); w.key("role"); w.string(a.role.rawValue)
                w.key("teams"); w.beginArray(); for x in a.teams { w.string(x) }; w.endArray()
                w.key("widgets"); w.beginArray(); for x in (a.role == .admin ? ["*"] : a.widgets) { w.string(x) }; w.endArray()
                w.key("online"); w.bool(online.contains(a.id))
                w.endObject()
            }
            w.endArray(); w.endObject()
        }
    }

    @Sendable func reopen(_ request: Request, context: ParleyContext) async throws -> Response {
        let (agent, t) = try visibleTicket(request, context: context)
        let me = actor(agent)
        let r = try await services.store.update(ticket: t.id) { s in
            guard s.status == .closed else { throw APIError(.conflict, "ticket_open", "This ticket is not closed.") }
            var st = TicketEvent(type: EventType.status, by: me); st.status = TicketStatus.open.rawValue
            return [st]
        }
        return appendedResponse(r)
    }

    func appended(_ t: TicketSummary, _ drafts: [TicketEvent]) async throws -> Response {
        appendedResponse(try await services.store.append(ticket: t.id, drafts))
    }

    func appendedResponse(_ r: AppendResult) -> Response {
        JSONResponse.make(.created) { w in
            w.beginObject()
            w.key("ticket"); w.raw(r.summary.json())
            w.key("events"); w.beginArray(); for e in r.events { w.raw(e.json()) }; w.endArray()
            w.endObject()
        }
    }

    @Sendable func live(_ request: Request, context: ParleyContext) async throws -> Response {
        let agent = try currentAgent(request)
        let cookie = request.cookies[Sessions.cookieName]?.value ?? ""
        return SSE.agentStream(services: services, agent: agent, cookie: cookie, lastEventID: request.headers[.lastEventID])
    }
}
