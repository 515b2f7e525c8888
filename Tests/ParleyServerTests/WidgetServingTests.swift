import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ParleyCore
@testable import ParleyServer
import Testing

/// The widget's side of the server: its config (availability, offline behaviour, options), ticket
/// creation rules (closed, bot options, identity signatures), the organisation identity, and how
/// `Public/` assets are served (ETag, gzip, cache lifetimes).
@Suite struct WidgetServingTests {
    /// A widget on the test's data folder, saved through the config store.
    func save(_ env: TestEnv, _ id: String, _ change: (inout Widget) -> Void) throws {
        var w = Widget(id: id, name: "Hearth & Hollow")
        change(&w)
        try env.services.config.saveWidget(w)
    }

    static let alwaysClosed = Hours(timeZone: "UTC", weekly: [:])
    /// Open Monday 09:00–17:00 UTC only.
    static let mondays = Hours(timeZone: "UTC", weekly: ["mon": ["09:00-17:00"]])

    @Test func configTellsTheLoaderWhatItNeedsAndNoSecrets() async throws {
        let env = try TestEnv()
        try save(env, "shop") { w in
            w.alignment = "left"; w.spacing = 80
            w.pathRules = PathRules(mode: .whitelist, paths: ["/products*"])
            w.options = [BotOption(label: "Orders", welcome: "Tell us your order number.", team: "logistics")]
            w.prompt = ProactivePrompt(delay: 20, title: "Need a hand?", message: "We reply in minutes.")
            w.strings = ["fr": ["start": "Discuter"]]
            w.identitySecret = "s3cret-value"
            w.identity = .organisation
        }
        try await env.app.test(.router) { client in
            let r = try await client.get("/api/widgets/shop/config")
            #expect(r.status == .ok)
            #expect(r.headers[.cacheControl] == "public, max-age=30")
            let body = String(buffer: r.body)
            #expect(!body.contains("s3cret-value"), "the identity secret never leaves the server")
            #expect(!body.contains("logistics"), "option teams are the shop's routing")
            let c = try object(r)
            #expect(c.str("alignment") == "left" && c.int("spacing") == 80)
            #expect(c.str("availability") == "open")
            #expect(c.list("options").map { $0.str("label") } == ["Orders"])
            #expect(c.dict("prompt")?.int("delay") == 20)
            #expect(c.dict("strings")?.dict("fr")?.str("start") == "Discuter")
            #expect(c["identify"] as? Bool == true)
            #expect(c.str("identity") == "organisation" && c.str("organisation") == "Hearth & Hollow")
            #expect(c.dict("pathRules")?.str("mode") == "whitelist")
            // The chat bundle's URL is versioned by content, so it can be cached for a year.
            let chat = try #require(c.str("chat"))
            let version = try #require(env.services.assets.asset("widget-chat.js")?.version)
            #expect(chat == "/widget-chat.js?v=\(version)")
        }
    }

    @Test func availabilityFollowsHoursAndAgentPresence() async throws {
        let env = try TestEnv()
        try save(env, "closed") { $0.hours = Self.alwaysClosed }
        try save(env, "mondays") { $0.hours = Self.mondays }
        try save(env, "needs-agent") { $0.offline.noAgentAsClosed = true }
        try await env.app.test(.router) { client in
            let closed = try object(try await client.get("/api/widgets/closed/config"))
            #expect(closed.str("availability") == "closed")
            #expect(closed["nextOpening"] is NSNull, "never opens: no next opening")
            let mondays = try object(try await client.get("/api/widgets/mondays/config"))
            let expected = Self.mondays.status(at: Date())
            #expect(mondays.str("availability") == (expected.open ? "open" : "closed"))
            if let next = expected.nextOpening { #expect(mondays.str("nextOpening") == Timestamp.format(next)) }
            let away = try object(try await client.get("/api/widgets/needs-agent/config"))
            #expect(away.str("availability") == "away", "no agent has the inbox open")
        }
        // An agent who may answer the widget opens the inbox: the widget is open.
        let agent = try env.addAgent("eve@shop.example", widgets: ["needs-agent"])
        let sub = env.services.hub.subscribeAgent(agentID: agent.id, canSee: { _ in true }, lastEventID: nil)
        defer { env.services.hub.unsubscribe(sub.0) }
        #expect(env.services.agentOnline(forWidget: "needs-agent"))
        #expect(!env.services.agentOnline(forWidget: "closed"), "this agent cannot answer that widget")
        #expect(try Widget(id: "x", name: "x").availability(at: Date(), agentOnline: false).0 == .open)
    }

    @Test func closedWidgetsTakeMessagesOnlyWhenTheyOfferTo() async throws {
        let env = try TestEnv()
        try save(env, "leave") { $0.hours = Self.alwaysClosed }
        try save(env, "no-leave") { $0.hours = Self.alwaysClosed; $0.offline.leaveMessage = false }
        try save(env, "hidden") { $0.hours = Self.alwaysClosed; $0.offline.mode = .hide }
        try await env.app.test(.router) { client in
            _ = try await client.startTicket(widget: "leave")
            for id in ["no-leave", "hidden"] {
                let r = try await client.post("/api/widgets/\(id)/tickets", #"{"fields":{"name":"Ann","email":"ann@example.com","message":"Hi"}}"#)
                #expect(r.status == .conflict)
                #expect(errorCode(r) == "widget_closed")
            }
        }
        #expect(env.services.store.summaries().map(\.widget) == ["leave"])
    }

    @Test func aBotOptionPostsItsWelcomeAndRoutesToItsTeam() async throws {
        let env = try TestEnv()
        try save(env, "bot") { $0.options = [BotOption(label: "Sales"), BotOption(label: "Orders", welcome: "Your order number?", team: "logistics")] }
        try await env.app.test(.router) { client in
            let bad = try await client.post("/api/widgets/bot/tickets", #"{"fields":{"name":"Ann","email":"ann@example.com","message":"Hi"},"option":2}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(try object(bad).dict("error")?.dict("fields")?.str("option") != nil)
            let r = try await client.post("/api/widgets/bot/tickets", #"{"fields":{"name":"Ann","email":"ann@example.com","message":"Where is it?"},"option":1}"#)
            #expect(r.status == .created)
            let o = try object(r)
            #expect(o.dict("ticket")?["team"] == nil, "the team is the shop's routing, not shown to the visitor")
            let id = try #require(o.dict("ticket")?.str("id")), token = try #require(o.str("token"))
            let events = try object(try await client.get("/api/tickets/\(id)/events", headers: bearer(token))).list("events")
            #expect(events.map { $0.str("type") } == ["ticket.opened", "message", "message"])
            #expect(events[1].dict("by")?.str("kind") == "visitor")
            #expect(events[2].dict("by")?.str("kind") == "bot")
            #expect(events[2].str("text") == "Your order number?")
        }
        #expect(env.services.store.summaries().map(\.team) == ["logistics"], "routed; the refused option wrote nothing")
    }

    @Test func identitySignaturesAreVerifiedAndBadOnesRefused() async throws {
        let env = try TestEnv()
        let secret = "shop-secret-123"
        try save(env, "signed") { $0.identitySecret = secret }
        let ts = Int(Date().timeIntervalSince1970)
        // The shop signs the email exactly as it has it, capitals included.
        let good = IdentitySignature.sign(email: "Ann@Example.com", ts: ts, secret: secret)
        try await env.app.test(.router) { client in
            // Valid: the vouched email wins over what was typed, and the ticket says so.
            let ok = try await client.post("/api/widgets/signed/tickets", #"""
                {"fields":{"name":"","email":"typo@example.com","message":"Hi"},
                 "identity":{"name":"Ann","email":"Ann@Example.com","ts":\#(ts),"signature":"\#(good)"}}
                """#)
            #expect(ok.status == .created, "\(String(buffer: ok.body))")
            let t = try #require(try object(ok).dict("ticket"))
            #expect(t.str("visitorEmail") == "ann@example.com")
            #expect(t.str("visitorName") == "Ann")
            #expect(t["emailVerified"] as? Bool == true)
            // Someone else's email with this signature, an old one, or garbage: refused, nothing written.
            let old = ts - Int(IdentitySignature.maxAge) - 60
            let stale = IdentitySignature.sign(email: "ann@example.com", ts: old, secret: secret)
            for claim in [#"{"email":"bob@example.com","ts":\#(ts),"signature":"\#(good)"}"#,
                          #"{"email":"ann@example.com","ts":\#(old),"signature":"\#(stale)"}"#,
                          #"{"email":"Ann@Example.com","ts":\#(ts),"signature":"00ff"}"#] {
                let r = try await client.post("/api/widgets/signed/tickets",
                                              #"{"fields":{"name":"Ann","email":"ann@example.com","message":"Hi"},"identity":\#(claim)}"#)
                #expect(r.status == .unprocessableContent)
                #expect(try object(r).dict("error")?.dict("fields")?.str("identity") != nil)
            }
            // Without a signature an identity only fills blanks and is not marked verified.
            let prefill = try await client.post("/api/widgets/signed/tickets",
                                                #"{"fields":{"name":"","email":"","message":"Hi"},"identity":{"name":"Cy","email":"cy@example.com"}}"#)
            #expect(prefill.status == .created)
            let p = try #require(try object(prefill).dict("ticket"))
            #expect(p.str("visitorEmail") == "cy@example.com" && p.str("visitorName") == "Cy")
            #expect(p["emailVerified"] == nil)
        }
        #expect(env.services.store.summaries().count == 2)
    }

    @Test func organisationIdentityHidesAgentNamesFromTheVisitorOnly() async throws {
        let env = try TestEnv()
        try save(env, "org") { $0.identity = .organisation; $0.organisation = "Hearth & Hollow" }
        try env.addAgent("eve@shop.example", widgets: ["org"])
        try await env.app.test(.router) { client in
            let (id, token) = try await client.startTicket(widget: "org")
            let cookie = try await client.login("eve@shop.example")
            #expect(try await client.post("/api/agent/tickets/\(id)/open", "{}", headers: cookie).status == .ok)
            #expect(try await client.post("/api/agent/tickets/\(id)/messages", #"{"id":"a1","text":"Hello!"}"#, headers: cookie).status == .created)
            let visitor = try object(try await client.get("/api/tickets/\(id)/events", headers: bearer(token))).list("events")
            let fromAgents = visitor.filter { $0.dict("by")?.str("kind") == "agent" }
            #expect(fromAgents.map { $0.str("type") } == ["agent.joined", "message"])
            for e in fromAgents {
                #expect(e.dict("by")?.str("name") == "Hearth & Hollow")
                #expect(e.dict("by")?.str("id") == nil)
            }
            let raw = String(buffer: try await client.get("/api/tickets/\(id)/events", headers: bearer(token)).body)
            #expect(!raw.contains("Eve"), "the agent's name never reaches the visitor")
            let agentView = try object(try await client.get("/api/agent/tickets/\(id)", headers: cookie)).list("events")
            #expect(agentView.contains { $0.str("type") == "message" && $0.dict("by")?.str("name") == "Eve" })
        }
    }

    @Test func assetsHaveETagsGzipAndCacheLifetimesByKind() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let plain = try await client.get("/widget.js")
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(plain.headers[.cacheControl] == "public, max-age=300")
            #expect(plain.headers[.contentEncoding] == nil, "no gzip unless asked")
            let source = try #require(FileManager.default.contents(atPath: RepoPaths.root + "/Public/widget.js"))
            #expect(Data(buffer: plain.body) == source)
            let etag = try #require(plain.headers[.eTag])

            let zipped = try await client.get("/widget.js", headers: [.acceptEncoding: "br, gzip;q=0.8"])
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(zipped.headers[.vary] == "Accept-Encoding")
            #expect(try gunzip(Data(buffer: zipped.body)) == source)
            let zippedTag = try #require(zipped.headers[.eTag])
            #expect(zippedTag != etag, "each representation has its own ETag")
            #expect(try await client.get("/widget.js", headers: [.acceptEncoding: "gzip", .ifNoneMatch: zippedTag]).status == .notModified)
            #expect(try await client.get("/widget.js", headers: [.acceptEncoding: "gzip;q=0"]).headers[.contentEncoding] == nil)

            let again = try await client.get("/widget.js", headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
            #expect(try await client.get("/widget.js", headers: [.ifNoneMatch: "\"other\""]).status == .ok)

            let version = try #require(env.services.assets.asset("widget-chat.js")?.version)
            let pinned = try await client.get("/widget-chat.js?v=\(version)")
            #expect(pinned.headers[.cacheControl] == "public, max-age=31536000, immutable")
            let stale = try await client.get("/widget-chat.js?v=000000000000")
            #expect(stale.headers[.cacheControl] == "no-cache", "an old version's URL must not pin today's file for a year")
            #expect(try await client.get("/").headers[.contentType] == "text/html; charset=utf-8")

            for bad in ["/.hidden", "/..%2fPackage.swift", "/a/../../Package.swift", "/openapi.json%00"] {
                #expect(try await client.get(bad).status == .notFound, "\(bad)")
            }
        }
    }

    @Test func assetPathsOnlyNamePlainFiles() {
        #expect(AssetStore.relativePath("/") == "index.html")
        #expect(AssetStore.relativePath("/widget.js") == "widget.js")
        #expect(AssetStore.relativePath("/docs/") == "docs/index.html")
        for bad in ["/..", "/a/../b", "/.git/config", "//etc/passwd", "/a b", "/%2e%2e/x", "/a/b/c/d/e/f"] {
            #expect(AssetStore.relativePath(bad) == nil, "\(bad)")
        }
        #expect(AssetMiddleware.acceptsGzip("gzip, deflate"))
        #expect(AssetMiddleware.acceptsGzip("deflate, GZIP;q=0.5"))
        #expect(!AssetMiddleware.acceptsGzip("gzip;q=0"))
        #expect(!AssetMiddleware.acceptsGzip("br"))
        #expect(!AssetMiddleware.acceptsGzip(nil))
        #expect(AssetMiddleware.matches(ifNoneMatch: "\"a\", W/\"b\"", etag: "\"b\""))
        #expect(!AssetMiddleware.matches(ifNoneMatch: "\"a\"", etag: "\"b\""))
    }
}

/// Decompresses with the system's gzip (an implementation we did not write).
func gunzip(_ data: Data) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-dc"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input; p.standardOutput = output
    try p.run()
    input.fileHandleForWriting.write(data)
    try input.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
    return out
}
