import Foundation

/// What the inbox needs to know about a ticket without reading its log: the fold of its events.
public struct TicketSummary: Sendable, Equatable, Codable {
    public var id: String
    public var widget: String = ""
    public var status: TicketStatus = .open
    public var priority: TicketPriority = .normal
    public var assignee: String?
    public var assigneeName: String?
    public var team: String?
    public var tags: [String] = []
    public var visitorName: String?
    public var visitorEmail: String?
    /// The shop vouched for the visitor's email (a valid identity signature).
    public var emailVerified: Bool = false
    public var subject: String?
    public var language: String?
    public var device: String = "desktop"
    public var createdAt: String = ""
    public var lastMessageAt: String?
    public var lastMessageBy: EventActor?
    public var lastMessagePreview: String?
    /// Messages the visitor has sent in this ticket.
    public var visitorMessages: Int = 0
    /// Visitor messages since the last agent message (unread by agents).
    public var unreadByAgent: Int = 0
    /// Agent messages since the visitor's last message (unread by the visitor).
    public var unreadByVisitor: Int = 0
    /// Time of the oldest visitor message no agent has answered yet.
    public var awaitingSince: String?
    public var visitorLeft: Bool = false
    public var joinedAgents: [String] = []
    public var lastSeq: Int = 0
    /// SHA-256 of the visitor token; never leaves the server.
    public var tokenHash: String = ""
    /// An agent asked that the next automatic reply be skipped (the rules engine clears it).
    public var skipNextAutoReply: Bool = false
    /// Rules that fired on this ticket (a rule fires once per ticket unless it repeats).
    public var firedRules: [String] = []
    /// Set when the log has damage in the middle; the ticket is then read-only.
    public var damaged: Bool = false

    public init(id: String) { self.id = id }

    /// Bump when `apply` or the fields change: summaries cached by an older fold are ignored.
    public static let foldVersion = 4

    /// Folds one event into the summary.
    public mutating func apply(_ e: TicketEvent) {
        lastSeq = max(lastSeq, e.seq)
        switch e.type {
        case EventType.opened:
            widget = e.widget ?? widget
            createdAt = e.at
            tokenHash = e.tokenHash ?? tokenHash
            language = e.language
            visitorName = e.fields?["name"].flatMap { $0.isEmpty ? nil : $0 } ?? e.by.name
            visitorEmail = e.fields?["email"].flatMap { $0.isEmpty ? nil : $0.lowercased() }
            subject = e.fields?["subject"].flatMap { $0.isEmpty ? nil : $0 }
            emailVerified = e.verified == true
            team = e.team ?? team
            if let ua = e.userAgent, Self.isMobile(userAgent: ua) { device = "mobile" }
        case EventType.message, EventType.attachment:
            lastMessageAt = e.at
            lastMessageBy = e.by
            lastMessagePreview = e.type == EventType.attachment ? e.attachment.map { "📎 \($0.name)" } : e.text.map { String($0.prefix(140)) }
            if e.by.kind == .visitor {
                visitorMessages += 1
                unreadByAgent += 1
                unreadByVisitor = 0
                if awaitingSince == nil { awaitingSince = e.at }
                visitorLeft = false
            } else if e.by.kind == .agent {
                unreadByAgent = 0
                unreadByVisitor += 1
                awaitingSince = nil
            } else {
                unreadByVisitor += 1
            }
        case EventType.agentJoined:
            if let id = e.by.id, !joinedAgents.contains(id) { joinedAgents.append(id) }
        case EventType.agentLeft:
            joinedAgents.removeAll { $0 == e.by.id }
        case EventType.visitorLeft:
            visitorLeft = true
        case EventType.assigned:
            assignee = e.agent
            assigneeName = e.agentName
            if e.team != nil { team = e.team }
        case EventType.status:
            if let s = e.status.flatMap(TicketStatus.init(rawValue:)) {
                status = s
                if s == .closed { awaitingSince = nil }
            }
        case EventType.priority:
            if let p = e.priority.flatMap(TicketPriority.init(rawValue:)) { priority = p }
        case EventType.tagAdded:
            if let t = e.tag, !tags.contains(t) { tags.append(t); tags.sort() }
        case EventType.tagRemoved:
            tags.removeAll { $0 == e.tag }
        case EventType.autoreplySkip:
            skipNextAutoReply = e.skip == true
        case EventType.autoresponder:
            // A rule fired; a reply it held back on request spent the request.
            if let r = e.rule, !firedRules.contains(r) { firedRules.append(r) }
            if e.skip == true { skipNextAutoReply = false }
        default:
            break
        }
    }

    /// A rough desktop/mobile split from the user agent at ticket start.
    public static func isMobile(userAgent ua: String) -> Bool {
        ["Mobi", "Android", "iPhone", "iPad", "Mobile"].contains { ua.contains($0) }
    }

    /// The summary as API JSON (no token hash).
    public func json() -> [UInt8] {
        var w = JSONText()
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("widget"); w.string(widget)
        w.key("status"); w.string(status.rawValue)
        w.key("priority"); w.string(priority.rawValue)
        w.field("assignee", assignee); w.field("assigneeName", assigneeName); w.field("team", team)
        w.key("tags"); w.beginArray(); for t in tags { w.string(t) }; w.endArray()
        w.field("visitorName", visitorName); w.field("visitorEmail", visitorEmail)
        if emailVerified { w.key("emailVerified"); w.bool(true) }
        w.field("subject", subject)
        w.field("language", language)
        w.key("device"); w.string(device)
        w.key("createdAt"); w.string(createdAt)
        w.field("lastMessageAt", lastMessageAt)
        if let by = lastMessageBy {
            w.key("lastMessageBy"); w.beginObject(); w.key("kind"); w.string(by.kind.rawValue)
            w.field("id", by.id); w.field("name", by.name); w.endObject()
        }
        w.field("lastMessagePreview", lastMessagePreview)
        w.key("visitorMessages"); w.int(visitorMessages)
        w.key("unreadByAgent"); w.int(unreadByAgent)
        w.key("unreadByVisitor"); w.int(unreadByVisitor)
        w.field("awaitingSince", awaitingSince)
        w.key("visitorLeft"); w.bool(visitorLeft)
        w.key("lastSeq"); w.int(lastSeq)
        if skipNextAutoReply { w.key("skipNextAutoReply"); w.bool(true) }
        if damaged { w.key("damaged"); w.bool(true) }
        w.endObject()
        return w.bytes
    }
}
