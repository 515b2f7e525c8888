import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ParleyCore
@testable import ParleyServer
import Testing

/// The inbox's own routes: take-over, wrap-up against the configured codes, the auto-reply skip
/// flag, contacts, the agent list, and what `me` gives the page.
@Suite struct InboxAPITests {
    @Test func aTicketSomeoneElseHoldsIsReadOnlyUntilTakenOver() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        let max = try env.addAgent("max@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let zoe = try await client.login("zoe@shop.test")
            let maxC = try await client.login("max@shop.test")
            _ = try await client.post("/api/agent/tickets/\(t.id)/open", "{}", headers: zoe)
            let refused = try await client.post("/api/agent/tickets/\(t.id)/messages", #"{"id":"m1","text":"Hi"}"#, headers: maxC)
            #expect(refused.status == .conflict)
            #expect(errorCode(refused) == "assigned_elsewhere")
            #expect(try object(refused).dict("error")?.str("message")?.contains("Zoe") == true)
            // Nor may he end it or change its status behind her back.
            let close = try await client.post("/api/agent/tickets/\(t.id)/close", "{}", headers: maxC)
            #expect(errorCode(close) == "assigned_elsewhere")
            let pending = try await client.post("/api/agent/tickets/\(t.id)/status", #"{"status":"pending"}"#, headers: maxC)
            #expect(errorCode(pending) == "assigned_elsewhere")
            #expect(env.services.store.summary(t.id)?.status == .open)
            // Notes stay open to everyone who may see the ticket.
            #expect(try await client.post("/api/agent/tickets/\(t.id)/notes", #"{"text":"Zoe is at lunch"}"#, headers: maxC).status == .created)

            let taken = try await client.post("/api/agent/tickets/\(t.id)/takeover", "{}", headers: maxC)
            #expect(taken.status == .created)
            let events = try object(taken).list("events")
            #expect(events.map { $0.str("type") } == ["assigned", "agent.joined"])
            #expect(events.first?["takeover"] as? Bool == true)
            #expect(events.first?.str("fromAgentName") == "Zoe")
            #expect(events.first?.str("agent") == max.id)
            #expect(try object(taken).dict("ticket")?.str("assignee") == max.id)
            // Taking over what one already holds changes nothing.
            let again = try await client.post("/api/agent/tickets/\(t.id)/takeover", "{}", headers: maxC)
            #expect(try object(again).list("events").isEmpty)
            #expect(try await client.post("/api/agent/tickets/\(t.id)/messages", #"{"id":"m1","text":"Hi"}"#, headers: maxC).status == .created)
            // Now Zoe is the one who must take it back.
            let zoeReply = try await client.post("/api/agent/tickets/\(t.id)/messages", #"{"id":"z1","text":"Back"}"#, headers: zoe)
            #expect(errorCode(zoeReply) == "assigned_elsewhere")

            // The visitor sees Max join and the reply; never the assignment or the note.
            let v = try object(try await client.get("/api/tickets/\(t.id)/events", headers: bearer(t.token))).list("events")
            let types = v.compactMap { $0.str("type") }
            #expect(types.filter { $0 == "agent.joined" }.count == 2)
            #expect(!types.contains("assigned") && !types.contains("note"))
        }
        #expect(env.logLines().filter { $0.contains(#""takeover":true"#) }.count == 1)
    }

    @Test func takingOverAClosedTicketIsRefused() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let zoe = try await client.login("zoe@shop.test")
            #expect(try await client.post("/api/agent/tickets/\(t.id)/close", "{}", headers: zoe).status == .created)
            let r = try await client.post("/api/agent/tickets/\(t.id)/takeover", "{}", headers: zoe)
            #expect(r.status == .conflict)
            #expect(errorCode(r) == "ticket_closed")
        }
        #expect(!env.logLines().contains { $0.contains(#""type":"assigned""#) })
    }

    @Test func wrapUpTakesOnlyTheCodesConfiguredForTheWidget() async throws {
        let env = try TestEnv()
        try env.services.config.saveWidget(Widget(id: "other", name: "Other shop"))
        try env.addAgent("zoe@shop.test", widgets: ["*"])
        try env.services.config.saveInbox(InboxSettings(dispositions: [
            Disposition(code: "sale", label: "Sale made"),
            Disposition(code: "refund", label: "Refund", widgets: ["other"]),
        ]))
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let c = try await client.login("zoe@shop.test")
            #expect(try await client.post("/api/agent/tickets/\(t.id)/close", "{}", headers: c).status == .created)
            let wrongWidget = try await client.post("/api/agent/tickets/\(t.id)/wrapup", #"{"disposition":"refund"}"#, headers: c)
            #expect(wrongWidget.status == .unprocessableContent)
            #expect(try object(wrongWidget).dict("error")?.dict("fields")?.str("disposition")?.contains("sale") == true)
            let empty = try await client.post("/api/agent/tickets/\(t.id)/wrapup", #"{"disposition":" ","notes":""}"#, headers: c)
            #expect(empty.status == .unprocessableContent)
            let ok = try await client.post("/api/agent/tickets/\(t.id)/wrapup", #"{"disposition":"sale","notes":"  Two scarves  "}"#, headers: c)
            #expect(ok.status == .created)
            let e = try #require(try object(ok).list("events").first)
            #expect(e.str("type") == "wrapup" && e.str("disposition") == "sale" && e.str("notes") == "Two scarves")
            let v = try object(try await client.get("/api/tickets/\(t.id)/events", headers: bearer(t.token))).list("events")
            #expect(!v.contains { $0.str("type") == "wrapup" }, "a wrap-up is internal")
        }
        #expect(env.logLines().filter { $0.contains(#""type":"wrapup""#) }.count == 1)
    }

    @Test func withNoCodesConfiguredOnlyNotesAreTaken() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let c = try await client.login("zoe@shop.test")
            let r = try await client.post("/api/agent/tickets/\(t.id)/close", #"{"disposition":"sale"}"#, headers: c)
            #expect(r.status == .unprocessableContent)
            #expect(env.services.store.summary(t.id)?.status == .open, "a refused close changes nothing")
            #expect(try await client.post("/api/agent/tickets/\(t.id)/close", #"{"notes":"asked about sizes"}"#, headers: c).status == .created)
        }
        #expect(env.logLines().contains { $0.contains(#""notes":"asked about sizes""#) })
    }

    @Test func skipTheNextAutoReplyIsAFlagOnTheTicket() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let c = try await client.login("zoe@shop.test")
            let on = try await client.post("/api/agent/tickets/\(t.id)/autoreply", #"{"skip":true}"#, headers: c)
            #expect(on.status == .created)
            #expect(try object(on).dict("ticket")?["skipNextAutoReply"] as? Bool == true)
            let same = try await client.post("/api/agent/tickets/\(t.id)/autoreply", #"{"skip":true}"#, headers: c)
            #expect(same.status == .ok)
            #expect(try object(same).list("events").isEmpty)
            let bad = try await client.post("/api/agent/tickets/\(t.id)/autoreply", #"{"skip":"yes"}"#, headers: c)
            #expect(bad.status == .badRequest || bad.status == .unprocessableContent)
            #expect(env.services.store.summary(t.id)?.skipNextAutoReply == true)
            let off = try await client.post("/api/agent/tickets/\(t.id)/autoreply", #"{"skip":false}"#, headers: c)
            #expect(try object(off).dict("ticket")?["skipNextAutoReply"] == nil)
        }
        #expect(env.logLines().filter { $0.contains(#""type":"autoreply.skip""#) }.count == 2)
    }

    @Test func contactsAreAddedOnceFromATicketWithAnEmail() async throws {
        let env = try TestEnv()
        let zoe = try env.addAgent("zoe@shop.test", widgets: ["*"])
        var anon = Widget(id: "anon", name: "No email asked")
        anon.fields = anon.fields.filter { $0.id == "message" }
        try env.services.config.saveWidget(anon)
        try await env.app.test(.router) { client in
            let t = try await client.startTicket(name: "Élodie", email: "Elodie@Example.com")
            let anonymous = try await client.post("/api/widgets/anon/tickets", #"{"fields":{"message":"hi"}}"#)
            let anonID = try #require(try object(anonymous).dict("ticket")?.str("id"))
            let c = try await client.login("zoe@shop.test")
            #expect(try object(try await client.get("/api/agent/tickets/\(t.id)", headers: c))["contact"] as? Bool == false)
            let added = try await client.post("/api/agent/contacts", #"{"ticket":"\#(t.id)"}"#, headers: c)
            #expect(added.status == .created)
            #expect(try object(added).dict("contact")?.str("email") == "elodie@example.com")
            #expect(try await client.post("/api/agent/contacts", #"{"ticket":"\#(t.id)"}"#, headers: c).status == .ok)
            let none = try await client.post("/api/agent/contacts", #"{"ticket":"\#(anonID)"}"#, headers: c)
            #expect(errorCode(none) == "no_email")
            #expect(try await client.post("/api/agent/contacts", #"{"ticket":"20261121-zzzzzzzzzz"}"#, headers: c).status == .notFound)
            let list = try object(try await client.get("/api/agent/contacts", headers: c)).list("contacts")
            #expect(list.map { $0.str("name") } == ["Élodie"])
            #expect(try object(try await client.get("/api/agent/tickets/\(t.id)", headers: c))["contact"] as? Bool == true)
            #expect(try await client.get("/api/agent/contacts").status == .unauthorized)
        }
        // Kept across restarts: the file is the source.
        let reread = try ContactStore(layout: env.services.layout)
        #expect(reread.all.map(\.email) == ["elodie@example.com"])
        #expect(reread.all.first?.addedBy == zoe.id)
    }

    @Test func meGivesTeamsCodesAndRepliesForTheAgentsWidgets() async throws {
        let env = try TestEnv()
        try env.services.config.saveWidget(Widget(id: "other", name: "Other shop"))
        try env.addAgent("zoe@shop.test", widgets: ["demo"])
        try env.services.config.updateAgent(email: "zoe@shop.test") { $0.teams = ["sales"] }
        try env.services.config.saveInbox(InboxSettings(
            dispositions: [Disposition(code: "sale", label: "Sale"), Disposition(code: "x", label: "Other only", widgets: ["other"])],
            canned: [CannedResponse(shortcut: "hello", title: "Greeting", text: "Hello!", widgets: ["demo"]),
                     CannedResponse(shortcut: "bye", title: "Other", text: "Bye", widgets: ["other"])]))
        try await env.app.test(.router) { client in
            let c = try await client.login("zoe@shop.test")
            let me = try object(try await client.get("/api/agent/me", headers: c))
            #expect(me.dict("agent")?["teams"] as? [String] == ["sales"])
            #expect(me.list("dispositions").map { $0.str("code") } == ["sale"])
            #expect(me.list("canned").map { $0.str("shortcut") } == ["hello"])
            #expect(me.list("widgets").first?["typingPreview"] as? Bool != nil)
            let agents = try object(try await client.get("/api/agent/agents", headers: c)).list("agents")
            #expect(agents.map { $0.str("name") } == ["Zoe"])
            #expect(agents.first?["online"] as? Bool == false, "online means a live stream is open")
        }
    }

    @Test func activeListsOpenAndPendingTickets() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let a = try await client.startTicket(name: "A")
            let b = try await client.startTicket(name: "B")
            let closed = try await client.startTicket(name: "C")
            let c = try await client.login("zoe@shop.test")
            _ = try await client.post("/api/agent/tickets/\(b.id)/status", #"{"status":"pending"}"#, headers: c)
            _ = try await client.post("/api/agent/tickets/\(closed.id)/close", "{}", headers: c)
            let active = try object(try await client.get("/api/agent/tickets?status=active", headers: c)).list("tickets")
            #expect(Set(active.compactMap { $0.str("id") }) == [a.id, b.id])
            let some = try object(try await client.get("/api/agent/tickets?status=pending,closed", headers: c)).list("tickets")
            #expect(Set(some.compactMap { $0.str("id") }) == [b.id, closed.id])
            #expect(try await client.get("/api/agent/tickets?status=open,nope", headers: c).status == .badRequest)
            // Pages: every active ticket exactly once, `total` on each page.
            var seen: [String] = []
            for offset in [0, 1, 2] {
                let page = try object(try await client.get("/api/agent/tickets?status=active&limit=1&offset=\(offset)", headers: c))
                #expect(page.int("total") == 2)
                seen += page.list("tickets").compactMap { $0.str("id") }
            }
            #expect(seen.count == 2 && Set(seen) == [a.id, b.id])
            #expect(try await client.get("/api/agent/tickets?offset=-1", headers: c).status == .badRequest)
        }
    }
}
