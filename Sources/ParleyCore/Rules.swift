import Foundation

/// An automated action (admin's "rules"): evaluated when a ticket opens and when a visitor message
/// arrives; when its conditions hold it fires its actions, at most once per ticket unless `repeats`.
/// Every firing is an `autoresponder` event naming the rule, followed by the events its actions make.
/// Pure: the caller says what time it is in the widget's hours and whether an agent is online.
public struct AutomationRule: Codable, Sendable, Equatable {
    public enum Trigger: String, Codable, Sendable, CaseIterable { case opened, message }
    public enum Match: String, Codable, Sendable { case all, any }

    public var id: String
    public var name: String
    public var enabled: Bool
    /// When the rule is evaluated.
    public var on: [Trigger]
    public var match: Match
    public var conditions: [RuleCondition]
    public var actions: [RuleAction]
    /// Fire every time the conditions hold (default: once per ticket).
    public var repeats: Bool

    public init(id: String, name: String, enabled: Bool = true, on: [Trigger], match: Match = .all,
                conditions: [RuleCondition], actions: [RuleAction], repeats: Bool = false) {
        self.id = id; self.name = name; self.enabled = enabled; self.on = on; self.match = match
        self.conditions = conditions; self.actions = actions; self.repeats = repeats
    }

    enum CodingKeys: String, CodingKey { case id, name, enabled, on, match, conditions, actions, repeats }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? id
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        on = try c.decodeIfPresent([Trigger].self, forKey: .on) ?? Trigger.allCases
        match = try c.decodeIfPresent(Match.self, forKey: .match) ?? .all
        conditions = try c.decodeIfPresent([RuleCondition].self, forKey: .conditions) ?? []
        actions = try c.decodeIfPresent([RuleAction].self, forKey: .actions) ?? []
        repeats = try c.decodeIfPresent(Bool.self, forKey: .repeats) ?? false
    }

    /// Problems keyed like `conditions[1].value`; empty when the rule is valid.
    public func problems() -> [String: String] {
        var out: [String: String] = [:]
        if !InboxSettings.isCode(id) { out["id"] = "Use 1–40 letters, digits, - or _." }
        if name.nilIfBlank == nil || name.count > 80 { out["name"] = "The name must have 1–80 characters." }
        if on.isEmpty { out["on"] = "Choose when the rule runs: when a ticket opens, on a visitor message, or both." }
        if actions.isEmpty { out["actions"] = "A rule needs at least one action." }
        for (i, c) in conditions.enumerated() {
            if let p = c.problem() { out["conditions[\(i)].value"] = p }
        }
        for (i, a) in actions.enumerated() {
            if let p = a.problem() { out["actions[\(i)].value"] = p }
        }
        return out
    }
}

/// One condition of a rule: `{"type": "messageContains", "value": "refund"}`.
public struct RuleCondition: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// The ticket's widget is `value`.
        case widget
        /// The widget is outside its opening hours (no hours: never).
        case outsideHours
        /// No agent who may answer the widget has the inbox open.
        case noAgentOnline
        /// The visitor's message (on `opened`: the first one) contains `value`, ignoring case and accents.
        case messageContains
        /// The visitor's email is at domain `value` (`shop.com` or `@shop.com`).
        case emailDomain
        /// The pre-chat answer `field` equals `value`, ignoring case and surrounding spaces.
        case fieldEquals
        /// The ticket's priority is `value`.
        case priority
    }
    public var type: Kind
    public var value: String?
    public var field: String?
    public init(_ type: Kind, _ value: String? = nil, field: String? = nil) { self.type = type; self.value = value; self.field = field }

    func problem() -> String? {
        switch type {
        case .outsideHours, .noAgentOnline: return nil
        case .priority: return value.flatMap(TicketPriority.init(rawValue:)) == nil ? "Use low, normal, high or urgent." : nil
        case .fieldEquals:
            if field?.nilIfBlank == nil { return "Name the form field." }
            return value == nil ? "Give the value to compare with." : nil
        case .widget, .messageContains, .emailDomain:
            guard let v = value?.nilIfBlank, v.count <= 200 else { return "Give a value (at most 200 characters)." }
            return nil
        }
    }
}

/// One action of a rule: `{"type": "reply", "text": "We are closed…"}`.
public struct RuleAction: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// An automatic reply, sent as the organisation.
        case reply
        /// Sets the priority to `value`.
        case priority
        /// Adds the tag `value`.
        case tag
        /// Routes the ticket to team `value`.
        case team
        /// Assigns the ticket to agent `value` (an id; the caller names it).
        case agent
        /// Closes the ticket (rules after it do not run).
        case close
    }
    public var type: Kind
    public var value: String?
    public var text: String?
    public init(_ type: Kind, _ value: String? = nil, text: String? = nil) { self.type = type; self.value = value; self.text = text }

    func problem() -> String? {
        switch type {
        case .close: return nil
        case .reply:
            guard let t = text?.nilIfBlank, t.count <= Limits.messageLength else { return "Write the reply (1–\(Limits.messageLength) characters)." }
            return nil
        case .priority: return value.flatMap(TicketPriority.init(rawValue:)) == nil ? "Use low, normal, high or urgent." : nil
        case .tag: return value.flatMap(Tag.normalized) == nil ? Tag.rule : nil
        case .team: return value?.nilIfBlank == nil || (value?.count ?? 0) > 60 ? "Name the team (at most 60 characters)." : nil
        case .agent: return value?.nilIfBlank == nil ? "Choose the agent." : nil
        }
    }
}

/// Evaluates rules against a ticket: the events they add, in order. Each rule sees what the rules
/// before it did (a priority set by one is the priority the next one tests).
public enum RuleEngine {
    public struct Input: Sendable {
        public var trigger: AutomationRule.Trigger
        public var summary: TicketSummary
        /// The visitor's message that triggered `message` (or the first message of `opened`).
        public var message: String?
        /// Pre-chat answers.
        public var fields: [String: String]
        public var outsideHours: Bool
        public var agentOnline: Bool
        /// Who automatic replies are from (the widget's organisation name).
        public var organisation: String
        /// Agent names by id, for `agent` actions (an unknown or disabled agent: the action is skipped).
        public var agentNames: [String: String]
        public init(trigger: AutomationRule.Trigger, summary: TicketSummary, message: String? = nil, fields: [String: String] = [:],
                    outsideHours: Bool = false, agentOnline: Bool = true, organisation: String, agentNames: [String: String] = [:]) {
            self.trigger = trigger; self.summary = summary; self.message = message; self.fields = fields
            self.outsideHours = outsideHours; self.agentOnline = agentOnline; self.organisation = organisation; self.agentNames = agentNames
        }
    }

    /// The drafts (seq and time filled in by the writer) the rules make for `input`.
    public static func evaluate(_ rules: [AutomationRule], _ input: Input) -> [TicketEvent] {
        var s = input.summary
        var out: [TicketEvent] = []
        let bot = EventActor(kind: .bot, name: input.organisation)
        for rule in rules where rule.enabled && rule.on.contains(input.trigger) && rule.problems().isEmpty {
            if s.status == .closed { break }
            if !rule.repeats && s.firedRules.contains(rule.id) { continue }
            guard matches(rule, s, input) else { continue }
            var drafts: [TicketEvent] = []
            var fired = TicketEvent(type: EventType.autoresponder, by: bot)
            fired.rule = rule.id
            // The agent's "skip the next auto-reply": this firing sends no reply and spends the request.
            let skipping = s.skipNextAutoReply && rule.actions.contains { $0.type == .reply }
            if skipping { fired.skip = true }
            drafts.append(fired)
            for a in rule.actions {
                switch a.type {
                case .reply:
                    guard !skipping, let text = a.text?.nilIfBlank else { continue }
                    var m = TicketEvent(type: EventType.message, by: bot); m.text = text
                    drafts.append(m)
                case .priority:
                    guard let p = a.value.flatMap(TicketPriority.init(rawValue:)), p != s.priority else { continue }
                    var e = TicketEvent(type: EventType.priority, by: bot); e.priority = p.rawValue
                    drafts.append(e)
                case .tag:
                    guard let tag = a.value.flatMap(Tag.normalized), !s.tags.contains(tag),
                          !drafts.contains(where: { $0.type == EventType.tagAdded && $0.tag == tag }) else { continue }
                    var e = TicketEvent(type: EventType.tagAdded, by: bot); e.tag = tag
                    drafts.append(e)
                case .team:
                    guard let team = a.value?.trimmingCharacters(in: .whitespaces), !team.isEmpty, team != s.team else { continue }
                    var e = TicketEvent(type: EventType.assigned, by: bot)
                    e.agent = s.assignee; e.agentName = s.assigneeName; e.team = team
                    drafts.append(e)
                case .agent:
                    guard let id = a.value, let name = input.agentNames[id], id != s.assignee else { continue }
                    var e = TicketEvent(type: EventType.assigned, by: bot); e.agent = id; e.agentName = name
                    drafts.append(e)
                case .close:
                    var e = TicketEvent(type: EventType.status, by: bot); e.status = TicketStatus.closed.rawValue
                    drafts.append(e)
                }
            }
            // Later rules see this one's effects (seq and time do not matter to the fold here).
            for d in drafts { s.apply(d) }
            out += drafts
        }
        return out
    }

    static func matches(_ rule: AutomationRule, _ s: TicketSummary, _ input: Input) -> Bool {
        if rule.conditions.isEmpty { return true }
        let results = rule.conditions.lazy.map { holds($0, s, input) }
        return rule.match == .all ? results.allSatisfy { $0 } : results.contains(true)
    }

    static func fold(_ v: String) -> String {
        v.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func holds(_ c: RuleCondition, _ s: TicketSummary, _ input: Input) -> Bool {
        switch c.type {
        case .widget: return s.widget == c.value
        case .outsideHours: return input.outsideHours
        case .noAgentOnline: return !input.agentOnline
        case .messageContains:
            guard let m = input.message, let v = c.value.map(fold), !v.isEmpty else { return false }
            return fold(m).contains(v)
        case .emailDomain:
            guard let email = s.visitorEmail?.lowercased(), let raw = c.value?.lowercased().trimmingCharacters(in: .whitespaces) else { return false }
            let domain = raw.hasPrefix("@") ? String(raw.dropFirst()) : raw
            return !domain.isEmpty && email.hasSuffix("@" + domain)
        case .fieldEquals:
            guard let f = c.field, let answer = input.fields[f], let v = c.value else { return false }
            return fold(answer) == fold(v)
        case .priority: return s.priority.rawValue == c.value
        }
    }
}
