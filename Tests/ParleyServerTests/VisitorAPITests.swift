import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ParleyCore
@testable import ParleyServer
import Testing

@Suite struct VisitorAPITests {
    @Test func startingATicketWritesOpenedAndFirstMessage() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (id, token) = try await client.startTicket(message: "Do you ship to Lyon?")
            #expect(!token.isEmpty && token.count >= 22)
            let r = try await client.get("/api/tickets/\(id)/events", headers: bearer(token))
            #expect(r.status == .ok)
            let events = try object(r).list("events")
            #expect(events.map { $0.str("type") } == ["ticket.opened", "message"])
            #expect(events.map { $0.int("seq") } == [1, 2])
            #expect(events[1].str("text") == "Do you ship to Lyon?")
            #expect(events[0]["tokenHash"] == nil, "the token hash never leaves the server")
        }
        let lines = env.logLines()
        #expect(lines.count == 2)
        #expect(lines[0].contains("\"tokenHash\":"))
    }

    @Test func invalidFormGets422NamingTheFieldsAndWritesNothing() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let r = try await client.post("/api/widgets/demo/tickets", #"{"fields":{"name":"  ","email":"not-an-email","message":"hi"}}"#)
            #expect(r.status == .unprocessableContent)
            let fields = try #require(try object(r).dict("error")?.dict("fields"))
            #expect((fields["name"] as? String)?.contains("cannot be empty") == true)
            #expect((fields["email"] as? String)?.contains("valid email") == true)
            #expect(fields["message"] == nil)
            let tooLong = String(repeating: "x", count: 81)
            let r2 = try await client.post("/api/widgets/demo/tickets", #"{"fields":{"name":"\#(tooLong)","email":"a@b.co","message":"hi"}}"#)
            #expect(r2.status == .unprocessableContent)
            #expect(try object(r2).dict("error")?.dict("fields")?.str("name")?.contains("too long") == true)
            let r3 = try await client.post("/api/widgets/demo/tickets", #"{"fields":{"name":"A","email":"a@b.co","message":"hi","isAdmin":"1"}}"#)
            #expect(r3.status == .unprocessableContent)
            #expect(try object(r3).dict("error")?.dict("fields")?.str("isAdmin") != nil)
        }
        #expect(env.logLines().isEmpty)
        #expect(env.services.store.summaries().isEmpty)
    }

    @Test func malformedBodiesGetClearErrors() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let r = try await client.post("/api/widgets/demo/tickets", "{not json")
            #expect(r.status == .badRequest)
            #expect(errorCode(r) == "invalid_json")
            let big = String(repeating: "a", count: 70 * 1024)
            let r2 = try await client.post("/api/widgets/demo/tickets", #"{"fields":{"name":"\#(big)"}}"#)
            #expect(r2.status == .contentTooLarge)
            #expect(errorCode(r2) == "body_too_large")
            let r3 = try await client.execute(uri: "/api/widgets/demo/tickets", method: .post,
                                              headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "a=b"))
            #expect(r3.status == .unsupportedMediaType)
            let r4 = try await client.get("/api/widgets/nope/config")
            #expect(r4.status == .notFound)
            #expect(errorCode(r4) == "widget_not_found")
            let r5 = try await client.get("/api/no/such/thing")
            #expect(r5.status == .notFound)
            #expect(errorCode(r5) != nil)
        }
        #expect(env.logLines().isEmpty)
    }

    @Test func aVisitorTokenCannotReadAnotherTicket() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let a = try await client.startTicket(name: "Ann")
            let b = try await client.startTicket(name: "Bob", email: "bob@example.com")
            let cross = try await client.get("/api/tickets/\(b.id)/events", headers: bearer(a.token))
            #expect(cross.status == .notFound)
            #expect(errorCode(cross) == "ticket_not_found")
            let post = try await client.post("/api/tickets/\(b.id)/messages", #"{"id":"x1","text":"sneaky"}"#, headers: bearer(a.token))
            #expect(post.status == .notFound)
            let none = try await client.get("/api/tickets/\(a.id)/events")
            #expect(none.status == .unauthorized)
            let live = try await client.get("/api/tickets/\(b.id)/live", headers: bearer(a.token))
            #expect(live.status == .notFound)
        }
        #expect(!env.logLines().contains { $0.contains("sneaky") })
    }

    @Test func retriedSendWithTheSameIDStoresOneMessage() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let first = try await client.post("/api/tickets/\(t.id)/messages", #"{"id":"m-1","text":"Is it in stock?"}"#, headers: bearer(t.token))
            #expect(first.status == .created)
            let retry = try await client.post("/api/tickets/\(t.id)/messages", #"{"id":"m-1","text":"Is it in stock?"}"#, headers: bearer(t.token))
            #expect(retry.status == .ok)
            let a = try object(first).dict("event"), b = try object(retry).dict("event")
            #expect(a?.int("seq") == b?.int("seq"))
            #expect(try object(retry)["duplicate"] as? Bool == true)
        }
        #expect(env.logLines().filter { $0.contains(#""clientId":"m-1""#) }.count == 1)
    }

    @Test func messagesAreValidated() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let empty = try await client.post("/api/tickets/\(t.id)/messages", #"{"id":"a","text":"   "}"#, headers: bearer(t.token))
            #expect(empty.status == .unprocessableContent)
            #expect(try object(empty).dict("error")?.dict("fields")?.str("text") != nil)
            let long = String(repeating: "y", count: Limits.messageLength + 1)
            let tooLong = try await client.post("/api/tickets/\(t.id)/messages", #"{"id":"b","text":"\#(long)"}"#, headers: bearer(t.token))
            #expect(tooLong.status == .unprocessableContent)
            let badID = try await client.post("/api/tickets/\(t.id)/messages", #"{"id":"<script>","text":"hi"}"#, headers: bearer(t.token))
            #expect(badID.status == .unprocessableContent)
            #expect(try object(badID).dict("error")?.dict("fields")?.str("id") != nil)
        }
        #expect(env.logLines().count == 2, "only the opening and the form's message")
    }

    @Test func longPollReturnsWhenAnEventArrives() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            async let waited = client.get("/api/tickets/\(t.id)/events?after=2&wait=20", headers: bearer(t.token))
            // The agent side writes through the store; the waiting poll must wake up with it.
            var reply = TicketEvent(type: EventType.message, by: EventActor(kind: .agent, id: "a1", name: "Zoe"))
            reply.text = "Yes, we do."
            // Wait until the poll is parked on the live hub, so the wake-up path is what is tested.
            while env.services.hub.streamCount == 0 { await Task.yield() }
            _ = try await env.services.store.append(ticket: t.id, [reply])
            let r = try await waited
            let events = try object(r).list("events")
            #expect(events.map { $0.str("text") } == ["Yes, we do."])
            #expect(events.first?.int("seq") == 3)
        }
    }

    @Test func internalNotesNeverReachTheVisitor() async throws {
        let env = try TestEnv()
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let cookie = try await client.login("zoe@shop.test")
            let n = try await client.post("/api/agent/tickets/\(t.id)/notes", #"{"text":"VIP customer"}"#, headers: cookie)
            #expect(n.status == .created)
            let r = try await client.get("/api/tickets/\(t.id)/events", headers: bearer(t.token))
            #expect(!String(buffer: r.body).contains("VIP customer"))
            let agentView = try await client.get("/api/agent/tickets/\(t.id)", headers: cookie)
            #expect(String(buffer: agentView.body).contains("VIP customer"))
        }
    }

    @Test func allowedOriginsAreEnforced() async throws {
        let env = try TestEnv()
        var w = Widget(id: "shop", name: "Shop")
        w.allowedOrigins = ["https://shop.example"]
        try env.services.config.saveWidget(w)
        try await env.app.test(.router) { client in
            let ok = try await client.get("/api/widgets/shop/config", headers: [.origin: "https://shop.example"])
            #expect(ok.status == .ok)
            #expect(ok.headers[.accessControlAllowOrigin] == "https://shop.example")
            let evil = try await client.post("/api/widgets/shop/tickets",
                                             #"{"fields":{"name":"E","email":"e@evil.test","message":"x"}}"#, headers: [.origin: "https://evil.example"])
            #expect(evil.status == .forbidden)
            #expect(errorCode(evil) == "origin_not_allowed")
            // A ticket of that widget is refused to the foreign origin too.
            let (id, token) = try await client.startTicket(widget: "shop")
            let foreign = try await client.get("/api/tickets/\(id)/events", headers: bearer(token) + [.origin: "https://evil.example"])
            #expect(foreign.status == .forbidden)
            // A ticket that does not exist (erased, or a restored backup): the widget on any origin
            // can read the 404 and forget its stored conversation.
            let gone = try await client.get("/api/tickets/T000000000000000000000/events",
                                            headers: bearer("nope") + [.origin: "https://shop.example"])
            #expect(gone.status == .notFound)
            #expect(errorCode(gone) == "ticket_not_found")
            #expect(gone.headers[.accessControlAllowOrigin] == "https://shop.example")
            let preflight = try await client.execute(uri: "/api/widgets/shop/tickets", method: .options,
                                                     headers: [.origin: "https://shop.example", .accessControlRequestMethod: "POST"])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            // The demo widget lists no origins: any origin may use it.
            let demo = try await client.get("/api/widgets/demo/config", headers: [.origin: "https://anything.example"])
            #expect(demo.status == .ok)
        }
        // Only the ticket this test started itself: nothing from the refused calls.
        #expect(env.logLines().count == 2)
    }

    @Test func publicConfigSaysWhetherTheShopIsOpenAndWhereTheWidgetShows() async throws {
        let env = try TestEnv()
        var w = Widget(id: "night", name: "Night shop")
        // No opening ranges at all: closed now, and no next opening to announce.
        w.hours = Hours(timeZone: "UTC", weekly: [:])
        w.pathRules = PathRules(mode: .blacklist, paths: ["/checkout*"])
        try env.services.config.saveWidget(w)
        try await env.app.test(.router) { client in
            let night = try object(try await client.get("/api/widgets/night/config"))
            #expect(night.str("availability") == "closed")
            #expect(night["nextOpening"] is NSNull)
            #expect(night.dict("pathRules")?.str("mode") == "blacklist")
            #expect((night.dict("pathRules")?["paths"] as? [String]) == ["/checkout*"])
            let demo = try object(try await client.get("/api/widgets/demo/config"))
            #expect(demo.str("availability") == "open")
        }
    }

    @Test func ticketCreationIsRateLimitedPerClient() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            for i in 0..<12 {
                let r = try await client.post("/api/widgets/demo/tickets", #"{"fields":{"name":"N\#(i)","email":"n@x.co","message":"m"}}"#)
                statuses.append(r.status)
                if r.status == .tooManyRequests { #expect(r.headers[.retryAfter] != nil) }
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == .created })
            #expect(statuses.suffix(2).allSatisfy { $0 == .tooManyRequests })
        }
        #expect(env.services.store.summaries().count == 10)
    }

    @Test func aFailedSyncStopsAllWritesWith503() async throws {
        let failing = SyncCalls(dataSync: { _ in errno = EIO; return -1 }, directorySync: { _ in errno = EIO; return -1 })
        let env = try TestEnv(syncCalls: failing)
        try await env.app.test(.router) { client in
            let r = try await client.post("/api/widgets/demo/tickets", #"{"fields":{"name":"A","email":"a@b.co","message":"m"}}"#)
            #expect(r.status == .serviceUnavailable)
            #expect(errorCode(r) == "store_unavailable")
            let r2 = try await client.post("/api/widgets/demo/tickets", #"{"fields":{"name":"B","email":"b@b.co","message":"m"}}"#)
            #expect(r2.status == .serviceUnavailable)
            let h = try await client.get("/healthz")
            #expect(h.status == .serviceUnavailable)
        }
        #expect(env.services.store.summaries().isEmpty, "nothing unacknowledged is shown as stored")
    }

    @Test func feedbackAndLeaveAreRecorded() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let t = try await client.startTicket()
            let bad = try await client.post("/api/tickets/\(t.id)/feedback", #"{"rating":9}"#, headers: bearer(t.token))
            #expect(bad.status == .unprocessableContent)
            let fb = try await client.post("/api/tickets/\(t.id)/feedback", #"{"rating":5,"comment":"Great"}"#, headers: bearer(t.token))
            #expect(fb.status == .created)
            let leave = try await client.post("/api/tickets/\(t.id)/leave", "{}", headers: bearer(t.token))
            #expect(leave.status == .created)
            let again = try await client.post("/api/tickets/\(t.id)/leave", "{}", headers: bearer(t.token))
            #expect(try object(again).list("events").isEmpty)
        }
        #expect(env.services.store.summaries().first?.visitorLeft == true)
        #expect(env.logLines().filter { $0.contains(#""type":"feedback""#) }.count == 1)
        #expect(env.logLines().filter { $0.contains(#""type":"visitor.left""#) }.count == 1)
    }
}
