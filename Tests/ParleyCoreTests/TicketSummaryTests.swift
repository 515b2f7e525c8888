import Foundation
import Testing
@testable import ParleyCore

@Suite("Ticket summary fold")
struct TicketSummaryTests {
    private var seq = 0

    private mutating func at(_ e: TicketEvent, _ minute: Int) -> TicketEvent {
        var e = e
        seq += 1
        e.seq = seq
        e.at = "2025-11-21T13:\(String(format: "%02d", minute)):00.000Z"
        return e
    }

    private func event(_ type: String, by: EventActor = EventActor(kind: .agent, id: "a_1", name: "Bob"),
                       _ set: (inout TicketEvent) -> Void = { _ in }) -> TicketEvent {
        var e = TicketEvent(type: type, by: by)
        set(&e)
        return e
    }

    private func fold(_ events: [TicketEvent]) -> TicketSummary {
        var s = TicketSummary(id: "20251121-abcdefghij")
        for e in events { s.apply(e) }
        return s
    }

    @Test mutating func openedSetsWidgetVisitorAndDevice() {
        var opened = openedDraft(userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
                                 fields: ["name": "Ann", "email": "Ann@Example.COM", "subject": "Order 42"])
        opened.tokenHash = "abc"
        let s = fold([at(opened, 0)])
        #expect(s.widget == "demo")
        #expect(s.visitorName == "Ann")
        #expect(s.visitorEmail == "ann@example.com")
        #expect(s.subject == "Order 42")
        #expect(s.language == "en")
        #expect(s.device == "mobile")
        #expect(s.createdAt == "2025-11-21T13:00:00.000Z")
        #expect(s.tokenHash == "abc")
        #expect(s.status == .open)
        #expect(s.priority == .normal)
        #expect(s.lastSeq == 1)
    }

    @Test mutating func desktopUserAgentStaysDesktop() {
        let s = fold([at(openedDraft(userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"), 0)])
        #expect(s.device == "desktop")
        #expect(TicketSummary.isMobile(userAgent: "Mozilla/5.0 (Linux; Android 14) Mobile Safari"))
    }

    @Test mutating func unreadCountsVisitorMessagesSinceTheLastAgentMessage() {
        var events = [at(openedDraft(), 0)]
        events.append(at(visitorMessage("one"), 1))
        events.append(at(visitorMessage("two"), 2))
        #expect(fold(events).unreadByAgent == 2)
        #expect(fold(events).unreadByVisitor == 0)
        events.append(at(agentMessage("hello"), 3))
        #expect(fold(events).unreadByAgent == 0)
        #expect(fold(events).unreadByVisitor == 1)
        events.append(at(event(EventType.note) { $0.text = "internal" }, 4))  // a note is not a message
        #expect(fold(events).unreadByVisitor == 1)
        events.append(at(visitorMessage("three"), 5))
        let s = fold(events)
        #expect(s.unreadByAgent == 1)
        #expect(s.unreadByVisitor == 0)
        #expect(s.visitorMessages == 3)
        #expect(s.lastMessagePreview == "three")
        #expect(s.lastMessageBy?.kind == .visitor)
        #expect(s.lastMessageAt == "2025-11-21T13:05:00.000Z")
        #expect(s.lastSeq == 6)
    }

    @Test mutating func awaitingSinceIsTheFirstUnansweredVisitorMessage() {
        var events = [at(openedDraft(), 0)]
        #expect(fold(events).awaitingSince == nil)
        events.append(at(visitorMessage("one"), 1))
        events.append(at(visitorMessage("two"), 2))
        #expect(fold(events).awaitingSince == "2025-11-21T13:01:00.000Z")
        events.append(at(event(EventType.message, by: EventActor(kind: .bot, name: "Bot")) { $0.text = "auto" }, 3))
        #expect(fold(events).awaitingSince == "2025-11-21T13:01:00.000Z")  // a bot is not an answer
        events.append(at(agentMessage("answer"), 4))
        #expect(fold(events).awaitingSince == nil)
        events.append(at(visitorMessage("again"), 5))
        #expect(fold(events).awaitingSince == "2025-11-21T13:05:00.000Z")
        events.append(at(event(EventType.status) { $0.status = "closed" }, 6))
        #expect(fold(events).awaitingSince == nil)
    }

    @Test mutating func tagsAreAddedOnceSortedAndRemoved() {
        var events = [at(openedDraft(), 0)]
        for t in ["vip", "refund", "vip"] { events.append(at(event(EventType.tagAdded) { $0.tag = t }, 1)) }
        #expect(fold(events).tags == ["refund", "vip"])
        events.append(at(event(EventType.tagRemoved) { $0.tag = "vip" }, 2))
        events.append(at(event(EventType.tagRemoved) { $0.tag = "never-added" }, 2))
        #expect(fold(events).tags == ["refund"])
    }

    @Test mutating func statusAndPriorityFollowTheLastValidValue() {
        var events = [at(openedDraft(), 0)]
        events.append(at(event(EventType.status) { $0.status = "pending" }, 1))
        events.append(at(event(EventType.priority) { $0.priority = "urgent" }, 2))
        events.append(at(event(EventType.status) { $0.status = "bogus" }, 3))
        events.append(at(event(EventType.priority) { $0.priority = "bogus" }, 4))
        let s = fold(events)
        #expect(s.status == .pending)
        #expect(s.priority == .urgent)
    }

    @Test mutating func assignmentJoinsAndVisitorLeaving() {
        var events = [at(openedDraft(), 0)]
        events.append(at(event(EventType.assigned) { $0.agent = "a_2"; $0.agentName = "Carol"; $0.team = "sales" }, 1))
        events.append(at(event(EventType.agentJoined, by: EventActor(kind: .agent, id: "a_2")), 2))
        events.append(at(event(EventType.agentJoined, by: EventActor(kind: .agent, id: "a_3")), 2))
        events.append(at(event(EventType.agentJoined, by: EventActor(kind: .agent, id: "a_2")), 2))
        events.append(at(event(EventType.agentLeft, by: EventActor(kind: .agent, id: "a_3")), 3))
        events.append(at(event(EventType.visitorLeft, by: EventActor(kind: .visitor)), 4))
        var s = fold(events)
        #expect(s.assignee == "a_2")
        #expect(s.assigneeName == "Carol")
        #expect(s.team == "sales")
        #expect(s.joinedAgents == ["a_2"])
        #expect(s.visitorLeft)
        events.append(at(visitorMessage("I'm back"), 5))
        s = fold(events)
        #expect(!s.visitorLeft)
    }

    @Test mutating func attachmentPreviewNamesTheFile() {
        let e = event(EventType.attachment, by: EventActor(kind: .visitor)) {
            $0.attachment = AttachmentInfo(id: "x", name: "invoice.pdf", size: 10, type: "application/pdf")
        }
        let s = fold([at(openedDraft(), 0), at(e, 1)])
        #expect(s.lastMessagePreview == "📎 invoice.pdf")
        #expect(s.unreadByAgent == 1)
    }

    @Test mutating func longMessagePreviewIsCut() {
        let s = fold([at(openedDraft(), 0), at(visitorMessage(String(repeating: "é", count: 500)), 1)])
        #expect(s.lastMessagePreview?.count == 140)
    }

    @Test mutating func summaryJSONHasNoTokenHash() throws {
        var opened = openedDraft()
        opened.tokenHash = "deadbeef"
        let s = fold([at(opened, 0), at(visitorMessage("hi"), 1)])
        let text = String(decoding: s.json(), as: UTF8.self)
        #expect(!text.contains("deadbeef"))
        #expect(!text.contains("tokenHash"))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(s.json())) as? [String: Any])
        #expect(obj["unreadByAgent"] as? Int == 1)
        #expect(obj["visitorEmail"] as? String == "ann@example.com")
        #expect(obj["damaged"] == nil)
    }

    @Test mutating func skipTheNextAutoReplyIsSpentByTheNextRuleFiring() {
        let opened = at(openedDraft(userAgent: "Mozilla/5.0", fields: ["name": "Ann"]), 0)
        let skip = at(event(EventType.autoreplySkip) { $0.skip = true }, 1)
        #expect(fold([opened, skip]).skipNextAutoReply)
        #expect(!fold([opened, skip, at(event(EventType.autoreplySkip) { $0.skip = false }, 2)]).skipNextAutoReply)
        // A rule that sent no reply anyway leaves the request for the next one; one held back spends it.
        let tagged = at(event(EventType.autoresponder, by: EventActor(kind: .bot)) { $0.rule = "tag-vip" }, 3)
        #expect(fold([opened, skip, tagged]).skipNextAutoReply)
        let held = at(event(EventType.autoresponder, by: EventActor(kind: .bot)) { $0.rule = "away"; $0.skip = true }, 4)
        let s = fold([opened, skip, tagged, held])
        #expect(!s.skipNextAutoReply)
        #expect(s.firedRules == ["tag-vip", "away"])
    }

    @Test mutating func aTakeOverMovesTheTicketToTheNewAgent() throws {
        let opened = at(openedDraft(userAgent: "Mozilla/5.0", fields: ["name": "Ann"]), 0)
        let first = at(event(EventType.assigned) { $0.agent = "a_1"; $0.agentName = "Bob" }, 1)
        let takeover = at(event(EventType.assigned, by: EventActor(kind: .agent, id: "a_2", name: "Eve")) {
            $0.agent = "a_2"; $0.agentName = "Eve"; $0.takeover = true; $0.fromAgent = "a_1"; $0.fromAgentName = "Bob"
        }, 2)
        let s = fold([opened, first, takeover])
        #expect(s.assignee == "a_2" && s.assigneeName == "Eve")
        let line = String(decoding: takeover.json(), as: UTF8.self)
        #expect(line.contains(#""takeover":true,"fromAgent":"a_1","fromAgentName":"Bob""#))
        #expect(try TicketEvent.parse(line: Array(line.utf8)) == takeover)
    }
}
