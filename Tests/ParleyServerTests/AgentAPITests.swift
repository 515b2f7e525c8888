import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ParleyCore
@testable import ParleyServer
import Testing

@Suite struct AgentAPITests {
    @Test func loginRejectsWrongPasswordsAndIsRateLimited() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let wrong = try await client.post("/api/agent/login", #"{"email":"zoe@shop.test","password":"nope nope nope"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(errorCode(wrong) == "invalid_credentials")
            #expect(wrong.headers[.setCookie] == nil)
            let unknown = try await client.post("/api/agent/login", #"{"email":"who@shop.test","password":"nope nope nope"}"#)
            #expect(errorCode(unknown) == "invalid_credentials", "unknown emails look the same as wrong passwords")
            var limited = false
            for _ in 0..<6 {
                let r = try await client.post("/api/agent/login", #"{"email":"zoe@shop.test","password":"guess guess guess"}"#)
                if r.status == .tooManyRequests { limited = true }
            }
            #expect(limited)
            let me = try await client.get("/api/agent/me")
            #expect(me.status == .unauthorized)
        }
    }

    @Test func sessionCookieIsHttpOnlyStrictAndLogoutEndsIt() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let r = try await client.post("/api/agent/login", #"{"email":"Zoe@Shop.test","password":"correct horse battery"}"#)
            #expect(r.status == .ok)
            let set = try #require(r.headers[.setCookie]).lowercased()
            #expect(set.contains("httponly") && set.contains("samesite=strict"))
            let cookie: HTTPFields = [.cookie: String(try #require(r.headers[.setCookie]?.split(separator: ";").first))]
            #expect(try await client.get("/api/agent/me", headers: cookie).status == .ok)
            let value = try #require(cookie[.cookie])
            let forged: HTTPFields = [.cookie: String(value.dropLast()) + (value.hasSuffix("0") ? "1" : "0")]
            #expect(try await client.get("/api/agent/me", headers: forged).status == .unauthorized)
            _ = try await client.post("/api/agent/logout", "{}", headers: cookie)
            #expect(try await client.get("/api/agent/me", headers: cookie).status == .unauthorized)
        }
    }

    @Test func anAgentCannotOpenAWidgetItWasNotGiven() async throws {
        let env = try TestEnv()
        try env.services.config.saveWidget(Widget(id: "other", name: "Other shop"))
        try env.addAgent("zoe@shop.test", widgets: ["demo"])
        try await env.app.test(.router) { client in
            let mine = try await client.startTicket(widget: "demo")
            let theirs = try await client.startTicket(name: "Ann", email: "ann@example.com", widget: "other")
            let cookie = try await client.login("zoe@shop.test")
            let open = try await client.post("/api/agent/tickets/\(theirs.id)/open", "{}", headers: cookie)
            #expect(open.status == .forbidden)
            #expect(errorCode(open) == "widget_forbidden")
            let show = try await client.get("/api/agent/tickets/\(theirs.id)", headers: cookie)
            #expect(show.status == .forbidden)
            let reply = try await client.post("/api/agent/tickets/\(theirs.id)/messages", #"{"id":"r1","text":"hi"}"#, headers: cookie)
            #expect(reply.status == .forbidden)
            let list = try object(try await client.get("/api/agent/tickets", headers: cookie)).list("tickets")
            #expect(list.compactMap { $0.str("id") } == [mine.id])
            // Same customer on both widgets: "previous tickets" must not leak the other widget's.
            let shown = try object(try await client.get("/api/agent/tickets/\(mine.id)", headers: cookie))
            #expect(!String(describing: shown).contains(theirs.id))
        }
        #expect(env.services.store.summaries().allSatisfy { $0.assignee == nil })
        #expect(!env.logLines().contains { $0.contains("agent.joined") })
    }

    @Test func openingANewTicketAssignsItAndTheVisitorSeesTheAgentJoin() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try env.addAgent("max@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let zoe = try await client.login("zoe@shop.test")
            let opened = try object(try await client.post("/api/agent/tickets/\(t.id)/open", "{}", headers: zoe))
            #expect(opened.list("events").map { $0.str("type") } == ["assigned", "agent.joined"])
            #expect(opened.dict("ticket")?.str("assignee") == env.services.config.agent(email: "zoe@shop.test")?.id)
            // Opening again adds nothing; another agent opening does not steal it.
            #expect(try object(try await client.post("/api/agent/tickets/\(t.id)/open", "{}", headers: zoe)).list("events").isEmpty)
            let max = try await client.login("max@shop.test")
            #expect(try object(try await client.post("/api/agent/tickets/\(t.id)/open", "{}", headers: max)).list("events").isEmpty)
            let v = try object(try await client.get("/api/tickets/\(t.id)/events?after=2", headers: bearer(t.token))).list("events")
            #expect(v.map { $0.str("type") } == ["agent.joined"], "assignment is internal; the visitor sees who joined")
            #expect(v.last?.dict("by")?.str("name") == "Zoe")
        }
    }

    @Test func twoAgentsOpeningAtOnceAssignItOnce() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try env.addAgent("max@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let zoe = try await client.login("zoe@shop.test")
            let max = try await client.login("max@shop.test")
            async let a = client.post("/api/agent/tickets/\(t.id)/open", "{}", headers: zoe)
            async let b = client.post("/api/agent/tickets/\(t.id)/open", "{}", headers: max)
            let (ra, rb) = try await (a, b)
            #expect(ra.status == .ok && rb.status == .ok)
        }
        #expect(env.logLines().filter { $0.contains(#""type":"assigned""#) }.count == 1)
        #expect(env.logLines().filter { $0.contains(#""type":"agent.joined""#) }.count == 1)
    }

    @Test func replyStatusTagsCloseWithWrapupAndReopen() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try env.services.config.saveInbox(InboxSettings(dispositions: [Disposition(code: "resolved", label: "Resolved")]))
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let c = try await client.login("zoe@shop.test")
            #expect(try await client.post("/api/agent/tickets/\(t.id)/messages", #"{"id":"r1","text":"On it!"}"#, headers: c).status == .created)
            #expect(try await client.post("/api/agent/tickets/\(t.id)/priority", #"{"priority":"urgent"}"#, headers: c).status == .created)
            #expect(try await client.post("/api/agent/tickets/\(t.id)/priority", #"{"priority":"extreme"}"#, headers: c).status == .unprocessableContent)
            #expect(try await client.post("/api/agent/tickets/\(t.id)/tags", #"{"add":["Refund","vip"]}"#, headers: c).status == .created)
            #expect(try await client.post("/api/agent/tickets/\(t.id)/tags", #"{"remove":["vip"]}"#, headers: c).status == .created)
            let close = try await client.post("/api/agent/tickets/\(t.id)/close", #"{"disposition":"resolved","notes":"sent label"}"#, headers: c)
            #expect(close.status == .created)
            #expect(try object(close).list("events").map { $0.str("type") } == ["wrapup", "status"])
            let late = try await client.post("/api/tickets/\(t.id)/messages", #"{"id":"v9","text":"one more thing"}"#, headers: bearer(t.token))
            #expect(late.status == .conflict)
            #expect(errorCode(late) == "ticket_closed")
            let closedList = try object(try await client.get("/api/agent/tickets?status=closed&tag=refund", headers: c)).list("tickets")
            #expect(closedList.map { $0.str("id") } == [t.id])
            #expect(try await client.post("/api/agent/tickets/\(t.id)/reopen", "{}", headers: c).status == .created)
        }
        let s = try #require(env.services.store.summaries().first)
        #expect(s.status == .open && s.priority == .urgent && s.tags == ["refund"])
        #expect(s.unreadByAgent == 0 && s.awaitingSince == nil)
    }

    @Test func searchFindsByEmailAndText() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let a = try await client.startTicket(name: "Ann", email: "ann@example.com", message: "Blue scarf")
            _ = try await client.startTicket(name: "Bob", email: "bob@example.com", message: "Red hat")
            let c = try await client.login("zoe@shop.test")
            let byEmail = try object(try await client.get("/api/agent/tickets?email=ANN@example.com", headers: c)).list("tickets")
            #expect(byEmail.map { $0.str("id") } == [a.id])
            let byText = try object(try await client.get("/api/agent/tickets?q=scarf", headers: c)).list("tickets")
            #expect(byText.map { $0.str("id") } == [a.id])
            let bad = try await client.get("/api/agent/tickets?status=weird", headers: c)
            #expect(bad.status == .badRequest)
        }
    }

    @Test func crossSiteCallsToTheAgentAPIAreRefused() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            var c = try await client.login("zoe@shop.test")
            c[.origin] = "https://evil.example"
            let r = try await client.post("/api/agent/tickets/\(t.id)/close", "{}", headers: c)
            #expect(r.status == .forbidden)
        }
        #expect(env.services.store.summaries().first?.status == .open)
    }

    @Test func setupLinkCreatesTheFirstAdminOnce() async throws {
        let env = try TestEnv()
        let token = try #require(env.services.setupToken)
        try await env.app.test(.router) { client in
            let wrong = try await client.post("/api/setup", #"{"token":"nope","email":"o@shop.test","name":"Owner","password":"long enough pw"}"#)
            #expect(wrong.status == .forbidden)
            let weak = try await client.post("/api/setup", #"{"token":"\#(token)","email":"o@shop.test","name":"Owner","password":"short"}"#)
            #expect(weak.status == .unprocessableContent)
            let typo = try await client.post("/api/setup", #"{"token":"\#(token)","email":"o@shop","name":"Owner","password":"long enough pw"}"#)
            #expect(typo.status == .unprocessableContent, "a typo must not spend the printed link")
            #expect(try object(try await client.get("/api/setup"))["setupNeeded"] as? Bool == true)
            let ok = try await client.post("/api/setup", #"{"token":"\#(token)","email":"o@shop.test","name":"Owner","password":"long enough pw"}"#)
            #expect(ok.status == .created)
            #expect(ok.headers[.setCookie] != nil)
            let again = try await client.post("/api/setup", #"{"token":"\#(token)","email":"x@shop.test","name":"X","password":"long enough pw"}"#)
            #expect(again.status == .gone)
            #expect(try object(try await client.get("/api/setup"))["setupNeeded"] as? Bool == false)
        }
        #expect(env.services.config.agents.map(\.email) == ["o@shop.test"])
        #expect(env.services.setupToken == nil)
    }
}
