import Foundation
import Testing
@testable import ParleyCore

/// The rule engine as tables: tickets × rules → the events they add, written out by hand.
@Suite("Automated actions: rule engine")
struct RulesTests {
    /// A ticket on `widget` from `email`, folded from its opening (and `more` events).
    static func ticket(widget: String = "shop", email: String = "ann@example.com", _ more: [TicketEvent] = []) -> TicketSummary {
        var s = TicketSummary(id: "20261121-abcdefghij")
        var seq = 0
        for var e in [openedDraft(widget: widget, fields: ["name": "Ann", "email": email])] + more {
            seq += 1
            e.seq = seq
            e.at = "2026-11-21T12:00:0\(min(seq, 9)).000Z"
            s.apply(e)
        }
        return s
    }

    static func event(_ type: String, _ set: (inout TicketEvent) -> Void) -> TicketEvent {
        var e = TicketEvent(type: type, by: EventActor(kind: .agent, id: "a_1", name: "Bob"))
        set(&e)
        return e
    }

    /// What the events say, compactly: `autoresponder:away`, `message:We are closed`, `priority:high`…
    static func describe(_ events: [TicketEvent]) -> [String] {
        events.map { e in
            switch e.type {
            case EventType.autoresponder: return "autoresponder:\(e.rule ?? "")" + (e.skip == true ? ":skipped" : "")
            case EventType.message: return "message:\(e.text ?? "")"
            case EventType.priority: return "priority:\(e.priority ?? "")"
            case EventType.tagAdded: return "tag:\(e.tag ?? "")"
            case EventType.assigned: return "assigned:\(e.agent ?? "-"):\(e.team ?? "-")"
            case EventType.status: return "status:\(e.status ?? "")"
            default: return e.type
            }
        }
    }

    static let away = AutomationRule(id: "away", name: "Closed", on: [.opened],
                                     conditions: [RuleCondition(.outsideHours)], actions: [RuleAction(.reply, text: "We are closed")])
    static let refund = AutomationRule(id: "refund", name: "Refunds", on: [.opened, .message], match: .any,
                                       conditions: [RuleCondition(.messageContains, "remboursement"), RuleCondition(.messageContains, "refund")],
                                       actions: [RuleAction(.priority, "high"), RuleAction(.tag, "Refund"), RuleAction(.team, "billing")])
    static let urgentVIP = AutomationRule(id: "vip", name: "Urgent for high", on: [.opened, .message],
                                          conditions: [RuleCondition(.priority, "high"), RuleCondition(.emailDomain, "@bigcorp.com")],
                                          actions: [RuleAction(.priority, "urgent"), RuleAction(.agent, "a_9")])
    static let nobody = AutomationRule(id: "nobody", name: "No agent", on: [.opened, .message],
                                       conditions: [RuleCondition(.noAgentOnline)], actions: [RuleAction(.reply, text: "Nobody is here"), RuleAction(.close)],
                                       repeats: true)
    static let wholesale = AutomationRule(id: "wholesale", name: "Wholesale form", on: [.opened],
                                          conditions: [RuleCondition(.fieldEquals, " WHOLESALE ", field: "topic"), RuleCondition(.widget, "shop")],
                                          actions: [RuleAction(.team, "sales")])

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let rules: [AutomationRule]
        let input: RuleEngine.Input
        let expected: [String]
        var testDescription: String { name }
    }

    static func input(_ trigger: AutomationRule.Trigger, _ s: TicketSummary = ticket(), message: String? = nil, fields: [String: String] = [:],
                      outsideHours: Bool = false, agentOnline: Bool = true) -> RuleEngine.Input {
        RuleEngine.Input(trigger: trigger, summary: s, message: message, fields: fields, outsideHours: outsideHours,
                         agentOnline: agentOnline, organisation: "Hearth & Hollow", agentNames: ["a_9": "Vera"])
    }

    static let cases: [Case] = [
        Case(name: "outside hours on open: the auto-reply", rules: [away],
             input: input(.opened, outsideHours: true), expected: ["autoresponder:away", "message:We are closed"]),
        Case(name: "inside hours: nothing", rules: [away], input: input(.opened), expected: []),
        Case(name: "an opened-only rule does not run on messages", rules: [away],
             input: input(.message, message: "hi", outsideHours: true), expected: []),
        Case(name: "once per ticket: it fired before", rules: [away],
             input: input(.opened, ticket([event(EventType.autoresponder) { $0.rule = "away" }]), outsideHours: true), expected: []),
        Case(name: "any: accents and case ignored; tag lower-cased; team kept with no assignee", rules: [refund],
             input: input(.message, message: "Je voudrais un REMBOURSÉMENT"),
             expected: ["autoresponder:refund", "priority:high", "tag:refund", "assigned:-:billing"]),
        Case(name: "a later rule sees an earlier one's priority", rules: [refund, urgentVIP],
             input: input(.message, ticket(email: "Kim@BigCorp.com"), message: "refund please"),
             expected: ["autoresponder:refund", "priority:high", "tag:refund", "assigned:-:billing",
                        "autoresponder:vip", "priority:urgent", "assigned:a_9:-"]),
        Case(name: "all: one condition false, nothing", rules: [urgentVIP],
             input: input(.message, ticket(email: "kim@smallcorp.com", [event(EventType.priority) { $0.priority = "high" }]), message: "x"),
             expected: []),
        Case(name: "a domain is not a suffix of another one", rules: [urgentVIP],
             input: input(.message, ticket(email: "kim@notbigcorp.com", [event(EventType.priority) { $0.priority = "high" }]), message: "x"),
             expected: []),
        Case(name: "actions that change nothing add no event", rules: [refund],
             input: input(.message, ticket([event(EventType.priority) { $0.priority = "high" }, event(EventType.tagAdded) { $0.tag = "refund" }]),
                          message: "refund"),
             expected: ["autoresponder:refund", "assigned:-:billing"]),
        Case(name: "close ends the run; repeats fires again", rules: [nobody, away],
             input: input(.opened, ticket([event(EventType.autoresponder) { $0.rule = "nobody" }]), outsideHours: true, agentOnline: false),
             expected: ["autoresponder:nobody", "message:Nobody is here", "status:closed"]),
        Case(name: "form field equals, trimmed and case-insensitive", rules: [wholesale],
             input: input(.opened, fields: ["topic": "wholesale"]), expected: ["autoresponder:wholesale", "assigned:-:sales"]),
        Case(name: "skip the next auto-reply: the reply is held back, once", rules: [away, nobody],
             input: input(.opened, ticket([event(EventType.autoreplySkip) { $0.skip = true }]), outsideHours: true, agentOnline: false),
             expected: ["autoresponder:away:skipped", "autoresponder:nobody", "message:Nobody is here", "status:closed"]),
        Case(name: "a disabled or invalid rule never runs",
             rules: [AutomationRule(id: "off", name: "Off", enabled: false, on: [.opened], conditions: [], actions: [RuleAction(.close)]),
                     AutomationRule(id: "bad", name: "Bad", on: [.opened], conditions: [], actions: [RuleAction(.priority, "extreme")])],
             input: input(.opened), expected: []),
        Case(name: "an unknown agent is skipped, the rest applies",
             rules: [AutomationRule(id: "to-x", name: "To X", on: [.opened], conditions: [], actions: [RuleAction(.agent, "a_gone"), RuleAction(.tag, "x")])],
             input: input(.opened), expected: ["autoresponder:to-x", "tag:x"]),
        Case(name: "a closed ticket runs no rule", rules: [away],
             input: input(.opened, ticket([event(EventType.status) { $0.status = "closed" }]), outsideHours: true), expected: []),
    ]

    @Test(arguments: cases)
    func table(_ c: Case) {
        #expect(Self.describe(RuleEngine.evaluate(c.rules, c.input)) == c.expected)
    }

    @Test func repliesComeFromTheOrganisationAndFoldIntoTheTicket() {
        let events = RuleEngine.evaluate([Self.away], Self.input(.opened, outsideHours: true))
        #expect(events.allSatisfy { $0.by == EventActor(kind: .bot, name: "Hearth & Hollow") })
        var s = Self.ticket()
        for var e in events { e.seq = s.lastSeq + 1; e.at = "2026-11-21T12:01:00.000Z"; s.apply(e) }
        #expect(s.firedRules == ["away"])
        #expect(RuleEngine.evaluate([Self.away], Self.input(.opened, s, outsideHours: true)).isEmpty, "once per ticket")
    }

    @Test func problemsNameEachBadPart() {
        let bad = AutomationRule(id: "no spaces", name: "", on: [], conditions: [RuleCondition(.fieldEquals, "x"), RuleCondition(.priority, "meh")],
                                 actions: [])
        #expect(Set(bad.problems().keys) == ["id", "name", "on", "actions", "conditions[0].value", "conditions[1].value"])
        let reply = AutomationRule(id: "r", name: "R", on: [.opened], conditions: [], actions: [RuleAction(.reply, text: "  "), RuleAction(.tag, "a,b")])
        #expect(Set(reply.problems().keys) == ["actions[0].value", "actions[1].value"])
        #expect(Self.away.problems().isEmpty)
    }

    @Test func rulesReadFromJSONTakeDefaults() throws {
        let json = #"{"id":"away","actions":[{"type":"reply","text":"Closed"}],"conditions":[{"type":"outsideHours"}]}"#
        let r = try JSONDecoder().decode(AutomationRule.self, from: Data(json.utf8))
        #expect(r.name == "away" && r.enabled && r.on == [.opened, .message] && r.match == .all && !r.repeats)
        #expect(r.problems().isEmpty)
    }
}
