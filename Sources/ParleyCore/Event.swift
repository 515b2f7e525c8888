import Foundation

/// Who caused an event: the `by` object of every log line.
public struct EventActor: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable { case visitor, agent, system, bot }
    public var kind: Kind
    public var id: String?
    public var name: String?
    public init(kind: Kind, id: String? = nil, name: String? = nil) { self.kind = kind; self.id = id; self.name = name }
    public static let system = EventActor(kind: .system)
}

/// The page a visitor was on when the ticket opened.
public struct PageInfo: Codable, Sendable, Equatable {
    public var url: String?
    public var title: String?
    public init(url: String? = nil, title: String? = nil) { self.url = url; self.title = title }
}

/// An attachment as recorded in an `attachment` event.
public struct AttachmentInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var size: Int
    public var type: String
    /// Set only in API answers: the event names a file the data folder no longer has (a plain
    /// tar taken mid-upload, a file lost by hand). Never stored.
    public var missing: Bool?
    public init(id: String, name: String, size: Int, type: String) { self.id = id; self.name = name; self.size = size; self.type = type }
    enum CodingKeys: String, CodingKey { case id, name, size, type }
}

/// Event type names used in ticket logs.
public enum EventType {
    public static let opened = "ticket.opened"
    public static let message = "message"
    public static let attachment = "attachment"
    public static let agentJoined = "agent.joined"
    public static let agentLeft = "agent.left"
    public static let visitorLeft = "visitor.left"
    public static let assigned = "assigned"
    public static let status = "status"
    public static let priority = "priority"
    public static let tagAdded = "tag.added"
    public static let tagRemoved = "tag.removed"
    public static let note = "note"
    public static let wrapup = "wrapup"
    public static let feedback = "feedback"
    public static let autoresponder = "autoresponder"
    /// An agent asked to skip (`skip: true`) or no longer skip the next automatic reply.
    public static let autoreplySkip = "autoreply.skip"
    /// Types a visitor never sees: internal notes and the shop's own labels and routing.
    public static let internalOnly: Set<String> = [note, wrapup, autoresponder, autoreplySkip, tagAdded, tagRemoved, priority, assigned]
}

/// Ticket status values.
public enum TicketStatus: String, Codable, Sendable, CaseIterable { case open, pending, closed }
/// Ticket priority values.
public enum TicketPriority: String, Codable, Sendable, CaseIterable { case low, normal, high, urgent }

/// One line of a ticket's append-only log. A ticket's state is the fold of these.
public struct TicketEvent: Codable, Sendable, Equatable {
    public var seq: Int
    public var at: String
    public var type: String
    public var by: EventActor
    // ticket.opened
    public var widget: String?
    public var fields: [String: String]?
    public var page: PageInfo?
    public var language: String?
    public var userAgent: String?
    /// The visitor's email was vouched for by the shop (`Parley('identify')` with a valid signature).
    public var verified: Bool?
    /// SHA-256 of the visitor's bearer token (never the token itself); never sent over the API.
    public var tokenHash: String?
    // message, note
    public var text: String?
    public var attachments: [String]?
    public var clientId: String?
    // attachment
    public var attachment: AttachmentInfo?
    // assigned
    public var agent: String?
    public var agentName: String?
    public var team: String?
    /// An agent took the ticket over from `fromAgent` (who held it).
    public var takeover: Bool?
    public var fromAgent: String?
    public var fromAgentName: String?
    // status, priority, tags
    public var status: String?
    public var priority: String?
    public var tag: String?
    // wrapup
    public var disposition: String?
    public var notes: String?
    // feedback
    public var rating: Int?
    public var comment: String?
    // autoresponder
    public var rule: String?
    // autoreply.skip
    public var skip: Bool?

    /// A draft: `seq` and `at` are filled in by the writer.
    public init(type: String, by: EventActor) {
        self.seq = 0; self.at = ""; self.type = type; self.by = by
    }

    /// Encodes the event as one compact JSON object with a fixed key order.
    /// `forLog` keeps the token hash (the log is the source of truth); API output drops it.
    public func json(forLog: Bool = false) -> [UInt8] {
        var w = JSONText()
        w.beginObject()
        w.key("seq"); w.int(seq)
        w.key("at"); w.string(at)
        w.key("type"); w.string(type)
        w.key("by"); w.beginObject()
        w.key("kind"); w.string(by.kind.rawValue)
        w.field("id", by.id); w.field("name", by.name)
        w.endObject()
        w.field("widget", widget)
        if let fields {
            w.key("fields"); w.beginObject()
            for k in fields.keys.sorted() { w.key(k); w.string(fields[k] ?? "") }
            w.endObject()
        }
        if let page {
            w.key("page"); w.beginObject(); w.field("url", page.url); w.field("title", page.title); w.endObject()
        }
        w.field("language", language)
        w.field("userAgent", userAgent)
        w.field("verified", verified)
        if forLog { w.field("tokenHash", tokenHash) }
        w.field("text", text)
        if let attachments {
            w.key("attachments"); w.beginArray(); for a in attachments { w.string(a) }; w.endArray()
        }
        w.field("clientId", clientId)
        if let a = attachment {
            w.key("attachment"); w.beginObject()
            w.key("id"); w.string(a.id); w.key("name"); w.string(a.name)
            w.key("size"); w.int(a.size); w.key("type"); w.string(a.type)
            if a.missing == true && !forLog { w.key("missing"); w.bool(true) }
            w.endObject()
        }
        w.field("agent", agent); w.field("agentName", agentName); w.field("team", team)
        w.field("takeover", takeover); w.field("fromAgent", fromAgent); w.field("fromAgentName", fromAgentName)
        w.field("status", status); w.field("priority", priority); w.field("tag", tag)
        w.field("disposition", disposition); w.field("notes", notes)
        w.field("rating", rating); w.field("comment", comment)
        w.field("rule", rule)
        w.field("skip", skip)
        w.endObject()
        return w.bytes
    }

    /// Parses one log line (without its newline).
    public static func parse<C: Collection>(line: C, decoder: JSONDecoder = JSONDecoder()) throws -> TicketEvent where C.Element == UInt8 {
        let event = try decoder.decode(TicketEvent.self, from: Data(line))
        guard event.seq > 0, !event.type.isEmpty, Timestamp.parse(event.at) != nil else {
            throw ParleyError.corrupt("line is missing seq, at or type")
        }
        return event
    }
}
