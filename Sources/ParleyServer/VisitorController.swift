import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore
import ServiceLifecycle

/// The visitor side: public widget config, starting a ticket, and the ticket's own calls
/// (authorised by the ticket's bearer token).
struct VisitorController {
    let services: ParleyServices

    static let createTicketRule = RateLimiter.Rule(burst: 10, perSecond: 10.0 / 60)
    static let messageRule = RateLimiter.Rule(burst: 20, perSecond: 1)
    static let typingRule = RateLimiter.Rule(burst: 10, perSecond: 2)
    static let minorRule = RateLimiter.Rule(burst: 10, perSecond: 0.2)

    func addRoutes(to router: Router<ParleyContext>) {
        let widgets = router.group("api/widgets")
        widgets.get(":widget/config", use: config)
        widgets.post(":widget/tickets", use: createTicket)
        let tickets = router.group("api/tickets")
        tickets.get(":ticket/events", use: events)
        tickets.post(":ticket/messages", use: postMessage)
        tickets.post(":ticket/typing", use: typing)
        tickets.post(":ticket/leave", use: leave)
        tickets.post(":ticket/feedback", use: feedback)
        tickets.get(":ticket/live", use: live)
    }

    // MARK: widget

    func widget(_ context: ParleyContext) throws -> Widget {
        let id = try context.parameters.require("widget")
        guard let w = services.config.widget(id) else { throw ParleyError.widgetNotFound(id) }
        return w
    }

    @Sendable func config(_ request: Request, context: ParleyContext) async throws -> Response {
        var r = Self.publicConfig(try widget(context), services: services)
        // Short: "open now" and "agent online" change with the clock.
        r.headers[.cacheControl] = "public, max-age=30"
        return r
    }

    /// What the loader gets for a widget (also the admin's preview of a draft).
    static func publicConfig(_ w: Widget, services: ParleyServices) -> Response {
        let online = w.offline.noAgentAsClosed ? services.agentOnline(forWidget: w.id) : true
        let (availability, nextOpening) = w.availability(at: services.now(), agentOnline: online)
        let chat = services.assets.versionedPath("widget-chat.js")
        return JSONResponse.make { j in
            j.beginObject()
            j.key("id"); j.string(w.id)
            j.key("name"); j.string(w.name)
            j.key("welcome"); j.string(w.welcome)
            j.key("color"); j.string(w.color)
            j.key("alignment"); j.string(w.alignment)
            j.key("spacing"); j.int(w.spacing)
            j.key("language"); j.string(w.language)
            j.key("strings"); j.beginObject()
            for lang in w.strings.keys.sorted() {
                j.key(lang); j.beginObject()
                let table = w.strings[lang] ?? [:]
                for k in table.keys.sorted() { j.key(k); j.string(table[k] ?? "") }
                j.endObject()
            }
            j.endObject()
            j.key("availability"); j.string(availability.rawValue)
            j.key("nextOpening"); if let n = nextOpening { j.string(Timestamp.format(n)) } else { j.null() }
            j.key("offline"); j.beginObject()
            j.key("mode"); j.string(w.offline.mode.rawValue)
            j.key("message"); j.optional(w.offline.message)
            j.key("awayMessage"); j.optional(w.offline.awayMessage)
            j.key("contact"); j.optional(w.offline.contact)
            j.key("leaveMessage"); j.bool(w.offline.leaveMessage)
            j.endObject()
            j.key("identity"); j.string(w.identity.rawValue)
            j.key("organisation"); j.string(w.organisationName)
            j.key("sound"); j.bool(w.sound)
            j.key("feedback"); j.bool(w.feedback)
            j.key("typingPreview"); j.bool(w.typingPreview)
            j.key("prompt")
            if let p = w.prompt {
                j.beginObject(); j.key("delay"); j.int(p.delay); j.key("title"); j.string(p.title)
                j.key("message"); j.string(p.message); j.endObject()
            } else { j.null() }
            // Labels only: teams are the shop's routing, not the visitor's business.
            j.key("options"); j.beginArray()
            for o in w.options { j.beginObject(); j.key("label"); j.string(o.label); j.endObject() }
            j.endArray()
            j.key("identify"); j.bool(w.verifiesIdentity)
            j.key("maxFileSize"); j.int(w.maxFileSize)
            j.key("maxFiles"); j.int(w.maxFiles)
            j.key("pathRules"); j.beginObject()
            j.key("mode"); j.string(w.pathRules.mode.rawValue)
            j.key("paths"); j.beginArray(); for p in w.pathRules.paths { j.string(p) }; j.endArray()
            j.endObject()
            j.key("fields"); j.beginArray()
            for f in w.fields {
                j.beginObject()
                j.key("id"); j.string(f.id); j.key("type"); j.string(f.type.rawValue)
                j.key("label"); j.string(f.label); j.key("hint"); j.optional(f.hint)
                j.key("required"); j.bool(f.required); j.key("maxLength"); j.int(f.maxLength)
                if let o = f.options { j.key("options"); j.beginArray(); for x in o { j.string(x) }; j.endArray() }
                j.endObject()
            }
            j.endArray()
            j.key("chat"); j.string(chat)
            j.key("upload"); j.string(services.assets.versionedPath("upload.js"))
            j.endObject()
        }
    }

    struct CreateTicket: Decodable {
        var fields: [String: String]
        var page: PageInfo?
        var language: String?
        /// Index of the bot option the visitor chose.
        var option: Int?
        /// `Parley('identify', …)` from the shop's page.
        var identity: IdentityClaim?
    }

    struct IdentityClaim: Decodable {
        var name: String?
        var email: String?
        var signature: String?
        var ts: Int?
    }

    @Sendable func createTicket(_ request: Request, context: ParleyContext) async throws -> Response {
        let w = try widget(context)
        let body = try await request.decodeJSON(CreateTicket.self, context: context)
        let (answers, verified) = try Self.answers(body, widget: w)
        let option = try body.option.map { i -> BotOption in
            guard w.options.indices.contains(i) else { throw ParleyError.invalid(["option": "Choose one of the offered options."]) }
            return w.options[i]
        }
        let online = w.offline.noAgentAsClosed ? services.agentOnline(forWidget: w.id) : true
        let (availability, _) = w.availability(at: services.now(), agentOnline: online)
        if availability != .open && (w.offline.mode == .hide || !w.offline.leaveMessage) {
            throw APIError(.conflict, "widget_closed", "The chat is closed right now, and this widget does not take messages while closed.")
        }
        try services.limiter.take("ticket:\(context.clientIP)", Self.createTicketRule)
        let visitor = EventActor(kind: .visitor, name: answers["name"])
        var opened = TicketEvent(type: EventType.opened, by: visitor)
        opened.widget = w.id
        opened.fields = answers
        opened.verified = verified ? true : nil
        opened.team = option?.team?.nilIfBlank
        opened.page = body.page.map { PageInfo(url: $0.url.map { clip($0) }, title: $0.title.map { clip($0) }) }
        opened.language = body.language.map { String($0.prefix(16)) }
        opened.userAgent = request.headers[.userAgent].map { clip($0) }
        var more: [TicketEvent] = []
        let firstMessageField = w.fields.first { $0.type == .reason }?.id ?? "message"
        if let text = answers[firstMessageField] {
            var m = TicketEvent(type: EventType.message, by: visitor)
            m.text = text
            more.append(m)
        }
        if let welcome = option?.welcome?.nilIfBlank {
            var m = TicketEvent(type: EventType.message, by: EventActor(kind: .bot, name: w.organisationName))
            m.text = welcome
            more.append(m)
        }
        var (summary, token) = try await services.store.createTicket(opened: opened, then: more)
        // Before answering, so an automatic reply is already there when the widget first reads.
        await services.runRules(ticket: summary.id, trigger: .opened, message: answers[firstMessageField])
        summary.team = nil  // the shop's routing, not the visitor's business
        return JSONResponse.make(.created) { j in
            j.beginObject()
            j.key("ticket"); j.raw(summary.json())
            j.key("token"); j.string(token)
            j.endObject()
        }
    }

    /// The form answers with the shop's identity merged in, validated; and whether the email was
    /// vouched for by a valid signature. A signature that does not verify is refused (422 on
    /// `identity`): the widget then asks the visitor to type their details.
    static func answers(_ body: CreateTicket, widget w: Widget) throws -> ([String: String], Bool) {
        var answers = body.fields
        var verified = false
        let emailField = w.fields.first { $0.type == .email }?.id
        let nameField = w.fields.first { $0.type == .name }?.id
        if let claim = body.identity {
            // Signed exactly as the shop has it (the recipe signs `$email` as is); stored lowercased.
            let signed = claim.email?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfBlank
            let email = signed?.lowercased()
            if let signature = claim.signature?.nilIfBlank {
                guard let secret = w.identitySecret?.nilIfBlank, let signed, let ts = claim.ts,
                      IdentitySignature.verify(email: signed, ts: ts, signature: signature, secret: secret) else {
                    throw ParleyError.invalid(["identity": "The shop could not confirm who you are (the sign-in may have expired). Please enter your details."])
                }
                verified = true
            }
            // A verified email replaces what was typed; an unverified one only fills a blank.
            if let email, let f = emailField, verified || (answers[f] ?? "").isEmpty { answers[f] = email }
            if let name = claim.name?.nilIfBlank, let f = nameField, (answers[f] ?? "").isEmpty { answers[f] = name }
        }
        var clean = try FormValidator.validate(answers, fields: w.fields)
        if verified, emailField == nil, let email = body.identity?.email?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
            clean["email"] = email
        }
        return (clean, verified)
    }

    private func clip(_ s: String) -> String { String(s.prefix(Limits.metaLength)) }

    // MARK: ticket calls

    /// The ticket named in the path, if the request carries its visitor token. Any other token
    /// gets 404, as if the ticket did not exist.
    func authorizedTicket(_ request: Request, context: ParleyContext) throws -> TicketSummary {
        let id = try context.parameters.require("ticket")
        var token = try request.bearerToken()
        if token == nil, request.method == .get, let q = request.uri.queryParameters.get("access_token") {
            // EventSource cannot send headers; GET streams may carry the token in the query.
            token = q[...]
        }
        guard let token, !token.isEmpty else {
            throw APIError(.unauthorized, "unauthorized", "This call needs the ticket's token (Authorization: Bearer …).")
        }
        return try services.visitorTicket(id, token: token)
    }

    @Sendable func events(_ request: Request, context: ParleyContext) async throws -> Response {
        let t = try authorizedTicket(request, context: context)
        let after = try request.intQuery("after", default: 0, range: 0...Int.max)
        let wait = try request.intQuery("wait", default: 0, range: 0...Int(services.settings.maxLongPollSeconds))
        let view = VisitorView(widget: services.config.widget(t.widget))
        let events = try await LongPoll.wait(services: services, ticket: t.id, after: after, seconds: wait) {
            view.shows($0)
        }
        return JSONResponse.events(events.map(view.present))
    }

    struct MessageBody: Decodable {
        var id: String
        var text: String?
        var attachments: [String]?
    }

    @Sendable func postMessage(_ request: Request, context: ParleyContext) async throws -> Response {
        let t = try authorizedTicket(request, context: context)
        let body = try await request.decodeJSON(MessageBody.self, context: context)
        let draft = try MessageRules.draft(body.id, body.text, body.attachments, by: EventActor(kind: .visitor, name: t.visitorName))
        if t.status == .closed {
            throw APIError(.conflict, "ticket_closed", "This conversation has ended. Start a new chat to write again.")
        }
        try services.limiter.take("msg:\(t.id)", Self.messageRule)
        let r = try await services.store.append(ticket: t.id, [draft], clientId: body.id)
        if !r.duplicate { await services.runRules(ticket: t.id, trigger: .message, message: draft.text) }
        return MessageRules.response(r)
    }

    struct TypingBody: Decodable { var text: String? }

    @Sendable func typing(_ request: Request, context: ParleyContext) async throws -> Response {
        let t = try authorizedTicket(request, context: context)
        let body = try await request.decodeJSON(TypingBody.self, context: context)
        try services.limiter.take("typing:\(t.id)", Self.typingRule)
        let preview = services.config.widget(t.widget)?.typingPreview == true ? body.text.map { String($0.prefix(500)) } : nil
        services.hub.publishTyping(ticket: t.id, widget: t.widget, by: EventActor(kind: .visitor, name: t.visitorName),
                                   text: preview, toVisitor: false, toAgents: true)
        return Response(status: .noContent)
    }

    @Sendable func leave(_ request: Request, context: ParleyContext) async throws -> Response {
        let t = try authorizedTicket(request, context: context)
        try services.limiter.take("minor:\(t.id)", Self.minorRule)
        let by = EventActor(kind: .visitor, name: t.visitorName)
        let r = try await services.store.update(ticket: t.id) { s in
            s.visitorLeft ? [] : [TicketEvent(type: EventType.visitorLeft, by: by)]
        }
        return JSONResponse.events(r.events, status: r.events.isEmpty ? .ok : .created)
    }

    struct FeedbackBody: Decodable { var rating: Int; var comment: String? }

    @Sendable func feedback(_ request: Request, context: ParleyContext) async throws -> Response {
        let t = try authorizedTicket(request, context: context)
        let body = try await request.decodeJSON(FeedbackBody.self, context: context)
        guard services.config.widget(t.widget)?.feedback ?? false else {
            throw APIError(.conflict, "feedback_disabled", "This chat does not collect feedback.")
        }
        var errors: [String: String] = [:]
        if !(1...5).contains(body.rating) { errors["rating"] = "The rating must be 1 to 5." }
        if let c = body.comment, c.count > 1000 { errors["comment"] = "The comment is too long (at most 1000 characters)." }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
        try services.limiter.take("minor:\(t.id)", Self.minorRule)
        var e = TicketEvent(type: EventType.feedback, by: EventActor(kind: .visitor, name: t.visitorName))
        e.rating = body.rating
        e.comment = body.comment?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        let r = try await services.store.append(ticket: t.id, [e])
        return JSONResponse.events(r.events, status: .created)
    }

    @Sendable func live(_ request: Request, context: ParleyContext) async throws -> Response {
        let t = try authorizedTicket(request, context: context)
        let after = try LongPoll.resumePoint(request)
        return try await SSE.visitorStream(services: services, ticket: t.id, after: after,
                                           view: VisitorView(widget: services.config.widget(t.widget)))
    }
}

/// What a visitor receives of their ticket: never the internal events (notes, wrap-up, tags,
/// routing), and, when the widget shows the organisation's identity, the organisation's name in
/// place of the agent's on everything agents did.
struct VisitorView: Sendable {
    /// nil: agents appear under their own names.
    let organisation: String?

    init(widget: Widget?) {
        organisation = widget?.identity == .organisation ? widget?.organisationName : nil
    }

    func shows(_ e: TicketEvent) -> Bool { !EventType.internalOnly.contains(e.type) }

    func actor(_ by: EventActor) -> EventActor {
        guard let organisation, by.kind == .agent else { return by }
        return EventActor(kind: .agent, name: organisation)
    }

    func present(_ e: TicketEvent) -> TicketEvent {
        guard organisation != nil, e.by.kind == .agent || e.agent != nil else { return e }
        var c = e
        c.by = actor(e.by)
        c.agent = nil
        c.agentName = nil
        return c
    }
}

/// Rules shared by visitor and agent messages.
enum MessageRules {
    static func draft(_ clientID: String, _ text: String?, _ attachments: [String]?, by: EventActor) throws -> TicketEvent {
        var errors: [String: String] = [:]
        if clientID.isEmpty || clientID.count > Limits.clientIdLength
            || !clientID.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 }) {
            errors["id"] = "The client message id must be 1–\(Limits.clientIdLength) letters, digits, - or _."
        }
        let clean = text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if clean.count > Limits.messageLength { errors["text"] = "The message is too long (at most \(Limits.messageLength) characters)." }
        if clean.isEmpty && (attachments ?? []).isEmpty { errors["text"] = "The message cannot be empty." }
        if let a = attachments, !a.isEmpty { errors["attachments"] = "Unknown attachment id." }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
        var e = TicketEvent(type: EventType.message, by: by)
        e.text = clean.isEmpty ? nil : clean
        e.clientId = clientID
        return e
    }

    static func response(_ r: AppendResult) -> Response {
        JSONResponse.make(r.duplicate ? .ok : .created) { w in
            w.beginObject()
            w.key("event"); if let e = r.events.first { w.raw(e.json()) } else { w.null() }
            w.key("duplicate"); w.bool(r.duplicate)
            w.endObject()
        }
    }
}

/// Long-poll and resume helpers.
enum LongPoll {
    /// Events after `after` that pass `keep`; if there are none, waits up to `seconds` for one.
    static func wait(services: ParleyServices, ticket: String, after: Int, seconds: Int,
                     keep: @escaping @Sendable (TicketEvent) -> Bool) async throws -> [TicketEvent] {
        let now = try await services.store.events(ticket: ticket, after: after).filter(keep)
        if !now.isEmpty || seconds == 0 { return now }
        let (subID, stream) = services.hub.subscribe(ticket: ticket)
        defer { services.hub.unsubscribe(subID) }
        // Re-read after subscribing: an event may have landed in between.
        let again = try await services.store.events(ticket: ticket, after: after).filter(keep)
        if !again.isEmpty { return again }
        // A parked poll gives up at shutdown (the client simply polls again).
        _ = try? await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await item in stream {
                        if case .event(_, let e, _) = item, e.seq > after, keep(e) { return true }
                    }
                    return false
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(seconds))
                    return false
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
        return try await services.store.events(ticket: ticket, after: after).filter(keep)
    }

    /// Where a live stream resumes: `Last-Event-ID` (a seq) wins over `?after=`.
    static func resumePoint(_ request: Request) throws -> Int {
        if let h = request.headers[.lastEventID] {
            guard let v = Int(h.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                throw APIError(.badRequest, "invalid_last_event_id", "Last-Event-ID must be an event seq.")
            }
            return v
        }
        return try request.intQuery("after", default: 0, range: 0...Int.max)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension Request {
    /// The token of `Authorization: Bearer …`; nil without the header, 401 for another scheme.
    func bearerToken() throws -> Substring? {
        guard let auth = headers[.authorization] else { return nil }
        guard auth.hasPrefix("Bearer ") else {
            throw APIError(.unauthorized, "unauthorized", "Use Authorization: Bearer <ticket token>.")
        }
        return auth.dropFirst(7).drop { $0 == " " }
    }
}

extension ParleyServices {
    /// The ticket `id` if `token` is its visitor token (one index read: the summary carries the
    /// token's hash, compared in constant time). Any other token: 404, as if it did not exist.
    func visitorTicket(_ id: String, token: Substring) throws -> TicketSummary {
        guard TicketID.isValid(id), let s = store.summary(id), !s.tokenHash.isEmpty,
              Tokens.matches(token: String(token), hash: s.tokenHash) else {
            throw ParleyError.ticketNotFound
        }
        return s
    }

    /// The agent whose valid session cookie the request carries.
    func signedInAgent(_ request: Request) throws -> Agent {
        guard let value = request.cookies[Sessions.cookieName]?.value,
              let agent = sessions.verify(value, config: config) else {
            throw APIError(.unauthorized, "not_signed_in", "Please sign in.")
        }
        return agent
    }
}
