import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ParleyCore
@testable import ParleyServer
import Testing

/// The admin API: who may call it, widgets from draft to publish to rollback, agents and invite
/// links, the audit trail, and the automated actions running on real tickets.
@Suite struct AdminAPITests {
    func send(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ json: String = "{}",
              _ headers: HTTPFields) async throws -> TestResponse {
        var h = jsonHeaders
        h.append(contentsOf: headers)
        return try await client.execute(uri: uri, method: method, headers: h, body: ByteBuffer(string: json))
    }

    @Test func onlyAdminsGetIn() async throws {
        let env = try TestEnv()
        try env.addAgent("boss@shop.test", role: .admin)
        try env.addAgent("zoe@shop.test")
        try await env.app.test(.router) { client in
            #expect(try await client.get("/api/admin/widgets").status == .unauthorized)
            let zoe = try await client.login("zoe@shop.test")
            for (m, path) in [(HTTPRequest.Method.get, "/api/admin/widgets"), (.post, "/api/admin/widgets"), (.put, "/api/admin/rules"),
                              (.get, "/api/admin/audit"), (.patch, "/api/admin/agents/x")] {
                let r = try await send(client, m, path, #"{"id":"x","name":"X","rules":[]}"#, zoe)
                #expect(r.status == .forbidden && errorCode(r) == "admin_only", "\(m) \(path)")
            }
            // A page on another site cannot drive an admin's browser.
            let boss = try await client.login("boss@shop.test")
            var foreign = boss
            foreign[.origin] = "https://evil.example"
            let r = try await send(client, .post, "/api/admin/widgets", #"{"id":"x","name":"X"}"#, foreign)
            #expect(r.status == .forbidden && errorCode(r) == "origin_not_allowed")
            // The test clock exists only with --test-clock.
            #expect(try await client.post("/api/test/clock", #"{"now":null}"#).status == .notFound)
        }
        #expect(env.services.config.widgetState("x") == nil)
    }

    @Test func widgetFromDraftToPublishToRollback() async throws {
        let env = try TestEnv()
        try env.addAgent("boss@shop.test", role: .admin)
        try await env.app.test(.router) { client in
            let boss = try await client.login("boss@shop.test")
            let created = try await client.post("/api/admin/widgets", #"{"id":"corner","name":"Corner"}"#, headers: boss)
            #expect(created.status == .created)
            #expect(try object(created).int("version") == 0)
            #expect(try await client.get("/api/widgets/corner/config").status == .notFound)  // not live yet
            let dup = try await client.post("/api/admin/widgets", #"{"id":"corner","name":"Again"}"#, headers: boss)
            #expect(dup.status == .conflict && errorCode(dup) == "widget_exists")

            var draft = try #require(try object(created).dict("draft"))
            draft["alignment"] = "left"; draft["spacing"] = -5; draft["pathRules"] = ["mode": "blacklist", "paths": ["checkout"]]
            let bad = try await send(client, .put, "/api/admin/widgets/corner/draft", String(decoding: try JSONSerialization.data(withJSONObject: draft), as: UTF8.self), boss)
            #expect(bad.status == .unprocessableContent)
            #expect(Set(try object(bad).dict("error")?.dict("fields")?.keys.map { $0 } ?? []) == ["spacing", "pathRules.paths[0]"])
            // The preview refuses it too, and saves nothing.
            #expect(try await client.post("/api/admin/widgets/corner/preview", String(decoding: try JSONSerialization.data(withJSONObject: draft), as: UTF8.self), headers: boss).status == .unprocessableContent)

            draft["spacing"] = 80; draft["pathRules"] = ["mode": "blacklist", "paths": ["/checkout*"]]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: draft), as: UTF8.self)
            let preview = try object(try await client.post("/api/admin/widgets/corner/preview", body, headers: boss))
            #expect(preview.int("spacing") == 80 && preview.str("alignment") == "left" && preview.str("availability") == "open")
            #expect(env.services.config.widgetState("corner")?.draft?.widget.spacing == 25)  // the preview saved nothing
            let saved = try await send(client, .put, "/api/admin/widgets/corner/draft", body, boss)
            #expect(saved.status == .ok)
            #expect(try await client.get("/api/widgets/corner/config").status == .notFound)
            // The id is in the shop's embed code: it never changes.
            let renamed = try await send(client, .put, "/api/admin/widgets/corner/draft", body.replacingOccurrences(of: #""id":"corner""#, with: #""id":"other""#), boss)
            #expect(renamed.status == .unprocessableContent)

            let published = try await client.post("/api/admin/widgets/corner/publish", #"{"version":0}"#, headers: boss)
            #expect(published.status == .ok)
            #expect(try object(published).int("version") == 1)
            let live = try object(try await client.get("/api/widgets/corner/config"))
            #expect(live.str("alignment") == "left" && live.int("spacing") == 80)
            #expect(live.dict("pathRules")?["paths"] as? [String] == ["/checkout*"])
            #expect(try await client.post("/api/admin/widgets/corner/publish", "{}", headers: boss).status == .conflict)  // no draft

            // Version 2 goes back to the right; then restore version 1.
            draft["alignment"] = "right"
            _ = try await send(client, .put, "/api/admin/widgets/corner/draft", String(decoding: try JSONSerialization.data(withJSONObject: draft), as: UTF8.self), boss)
            // Another admin's editor, still on the first draft revision, may neither save nor publish over it.
            let rev = try #require(try object(try await client.get("/api/admin/widgets/corner", headers: boss)).int("draftRevision"))
            let overwrite = try await send(client, .put, "/api/admin/widgets/corner/draft?version=1&revision=\(rev - 1)", body, boss)
            #expect(overwrite.status == .conflict && errorCode(overwrite) == "draft_conflict")
            let unseen = try await client.post("/api/admin/widgets/corner/publish", #"{"version":1,"revision":\#(rev - 1)}"#, headers: boss)
            #expect(unseen.status == .conflict && errorCode(unseen) == "draft_conflict")
            let stale = try await client.post("/api/admin/widgets/corner/publish", #"{"version":0}"#, headers: boss)
            #expect(stale.status == .conflict && errorCode(stale) == "version_conflict")
            #expect(try object(try await client.post("/api/admin/widgets/corner/publish", #"{"version":1}"#, headers: boss)).int("version") == 2)
            #expect(try object(try await client.get("/api/widgets/corner/config")).str("alignment") == "right")
            let versions = try object(try await client.get("/api/admin/widgets/corner/versions", headers: boss)).list("versions")
            #expect(versions.map { $0.int("version") } == [2, 1])
            #expect(versions.first?["changed"] as? [String] == ["alignment"])
            #expect(try object(try await client.get("/api/admin/widgets/corner/versions/1", headers: boss)).dict("widget")?.str("alignment") == "left")
            #expect(try await client.get("/api/admin/widgets/corner/versions/7", headers: boss).status == .notFound)
            let restored = try object(try await client.post("/api/admin/widgets/corner/versions/1/restore", "{}", headers: boss))
            #expect(restored.int("version") == 3)
            #expect(try object(try await client.get("/api/widgets/corner/config")).str("alignment") == "left")

            // Every change is in the audit log, newest first, with who made it.
            let audit = try object(try await client.get("/api/admin/audit", headers: boss)).list("entries")
            #expect(audit.map { $0.str("action") } == ["widget.restore", "widget.publish", "widget.draft", "widget.publish", "widget.draft", "widget.create"])
            #expect(audit.allSatisfy { $0.dict("by")?.str("email") == "boss@shop.test" && $0.str("target") == "corner" })
        }
    }

    @Test func agentsInvitesAndTheLastAdmin() async throws {
        let env = try TestEnv()
        let boss = try env.addAgent("boss@shop.test", role: .admin)
        try await env.app.test(.router) { client in
            let me = try await client.login("boss@shop.test")
            let added = try await client.post("/api/admin/agents", #"{"email":"Zoe@Shop.test","name":"Zoe","role":"agent","widgets":["demo"],"teams":["sales"]}"#, headers: me)
            #expect(added.status == .created)
            let zoe = try #require(try object(added).dict("agent"))
            #expect(zoe.str("email") == "zoe@shop.test" && zoe["passwordSet"] as? Bool == false && zoe["passwordHash"] == nil)
            let link = try #require(try object(added).str("invite"))
            let token = try #require(link.components(separatedBy: "invite=").last)
            #expect(link.hasPrefix("http://") && link.contains("/setup?invite="))
            // Until the invite is used, Zoe cannot sign in.
            #expect(try await client.post("/api/agent/login", #"{"email":"zoe@shop.test","password":"correct horse battery"}"#).status == .unauthorized)
            let state = try object(try await client.get("/api/invite?token=\(token)"))
            #expect(state.str("email") == "zoe@shop.test" && state.str("name") == "Zoe")
            #expect(try await client.post("/api/invite", #"{"token":"\#(token)","password":"short"}"#).status == .unprocessableContent)
            #expect(try await client.post("/api/invite", #"{"token":"\#(token)","password":"correct horse battery"}"#).status == .ok)
            let reused = try await client.post("/api/invite", #"{"token":"\#(token)","password":"another long one"}"#)
            #expect(reused.status == .gone && errorCode(reused) == "invite_invalid")
            #expect(try await client.get("/api/invite?token=\(token)").status == .gone)
            let zoeC = try await client.login("zoe@shop.test")

            // Admin changes: role, widgets, disable; and the last admin stays.
            let zoeID = try #require(zoe.str("id"))
            let patched = try await send(client, .patch, "/api/admin/agents/\(zoeID)", #"{"widgets":["*"],"name":"Zoé"}"#, me)
            #expect(try object(patched).dict("agent")?["widgets"] as? [String] == ["*"])
            let last = try await send(client, .patch, "/api/admin/agents/\(boss.id)", #"{"role":"agent"}"#, me)
            #expect(last.status == .conflict && errorCode(last) == "last_admin")
            #expect(try await send(client, .patch, "/api/admin/agents/nobody", #"{"name":"X"}"#, me).status == .notFound)
            // A reset link ends Zoe's sessions and her old password.
            let reset = try object(try await client.post("/api/admin/agents/\(zoeID)/password", "{}", headers: me))
            #expect(reset.str("invite")?.contains("/setup?invite=") == true)
            #expect(try await client.get("/api/agent/me", headers: zoeC).status == .unauthorized)
            #expect(try await client.post("/api/agent/login", #"{"email":"zoe@shop.test","password":"correct horse battery"}"#).status == .unauthorized)
            let direct = try await client.post("/api/admin/agents/\(zoeID)/password", #"{"password":"a new long password"}"#, headers: me)
            #expect(direct.status == .ok)
            #expect(try object(direct)["invite"] is NSNull)
            _ = try await client.login("zoe@shop.test", password: "a new long password")
            #expect(try await send(client, .patch, "/api/admin/agents/\(zoeID)", #"{"disabled":true}"#, me).status == .ok)
            #expect(try await client.post("/api/agent/login", #"{"email":"zoe@shop.test","password":"a new long password"}"#).status == .forbidden)
            // Nothing in the agents list gives a password hash away.
            let list = String(buffer: try await client.get("/api/admin/agents", headers: me).body)
            #expect(!list.contains("$2") && list.contains("zoe@shop.test"))
            let actions = try object(try await client.get("/api/admin/audit", headers: me)).list("entries").compactMap { $0.str("action") }
            #expect(actions == ["agent.update", "agent.password", "agent.invite", "agent.update", "agent.password.set", "agent.add"])
        }
    }

    @Test func teamsInboxSettingsAndRulesAreValidatedAndSaved() async throws {
        let env = try TestEnv()
        try env.addAgent("boss@shop.test", role: .admin)
        let zoe = try env.addAgent("zoe@shop.test", widgets: [])
        try await env.app.test(.router) { client in
            let me = try await client.login("boss@shop.test")
            let bad = try await send(client, .put, "/api/admin/teams", #"{"teams":[{"id":"sales","name":""}]}"#, me)
            #expect(bad.status == .unprocessableContent)
            #expect(try object(bad).dict("error")?.dict("fields")?["teams[0].name"] != nil)
            _ = try await send(client, .patch, "/api/admin/agents/\(zoe.id)", #"{"teams":["sales"]}"#, me)
            let zoeC = try await client.login("zoe@shop.test")
            #expect(try object(try await client.get("/api/agent/me", headers: zoeC)).list("widgets").isEmpty)
            #expect(try await send(client, .put, "/api/admin/teams", #"{"teams":[{"id":"sales","name":"Sales","widgets":["demo"]}]}"#, me).status == .ok)
            // The team gives Zoe the demo widget at once.
            #expect(try object(try await client.get("/api/agent/me", headers: zoeC)).list("widgets").map { $0.str("id") } == ["demo"])

            let inbox = try await send(client, .put, "/api/admin/inbox", #"{"dispositions":[{"code":"sale","label":"Sale"}],"canned":[{"shortcut":"hi","title":"","text":"Hello"}]}"#, me)
            #expect(inbox.status == .unprocessableContent)
            #expect(try object(inbox).dict("error")?.dict("fields")?.keys.map { $0 } == ["canned[0].title"])
            #expect(try await send(client, .put, "/api/admin/inbox", #"{"dispositions":[{"code":"sale","label":"Sale"}],"canned":[]}"#, me).status == .ok)
            #expect(env.services.config.inbox.dispositions.map(\.code) == ["sale"])

            let rules = try await send(client, .put, "/api/admin/rules", #"{"rules":[{"id":"r1","name":"R","on":["opened"],"conditions":[{"type":"priority","value":"meh"}],"actions":[]}]}"#, me)
            #expect(Set(try object(rules).dict("error")?.dict("fields")?.keys.map { $0 } ?? []) == ["rules[0].conditions[0].value", "rules[0].actions"])
            #expect(env.services.config.rules.isEmpty)
        }
    }

    /// Erase from the admin page while serving: the visitor's tickets are gone at once (404 to
    /// their token), their files and contact too, and neither a log nor the journal holds the
    /// email any more (a crash now could not bring them back); other tickets keep working.
    @Test func eraseWhileServing() async throws {
        let env = try TestEnv()
        try env.addAgent("boss@shop.test", role: .admin)
        try await env.app.test(.router) { client in
            let me = try await client.login("boss@shop.test")
            let gone = try await client.startTicket(name: "Erin", email: "erin@example.com")
            for i in 0..<5 {
                _ = try await client.post("/api/tickets/\(gone.id)/messages", #"{"id":"e\#(i)","text":"mine \#(i)"}"#, headers: bearer(gone.token))
            }
            #expect(try await client.post("/api/agent/contacts", #"{"ticket":"\#(gone.id)"}"#, headers: me).status.code < 300)
            let other = try await client.startTicket(name: "Olga", email: "olga@example.com")
            #expect(try await client.post("/api/admin/erase", #"{"email":"nope"}"#, headers: me).status == .unprocessableContent)
            let r = try await client.post("/api/admin/erase", #"{"email":"Erin@Example.com"}"#, headers: me)
            #expect(r.status == .ok, "\(String(buffer: r.body))")
            let o = try object(r)
            #expect(o.int("tickets") == 1 && o["contact"] as? Bool == true && o.int("mentionedElsewhere") == 0)
            #expect(try await client.get("/api/tickets/\(gone.id)/events", headers: bearer(gone.token)).status == .notFound)
            #expect(try await client.post("/api/tickets/\(gone.id)/messages", #"{"id":"late","text":"still there?"}"#, headers: bearer(gone.token)).status == .notFound)
            #expect(try await client.post("/api/tickets/\(other.id)/messages", #"{"id":"o1","text":"fine"}"#, headers: bearer(other.token)).status == .created)
        }
        let journal = (try? String(contentsOfFile: env.services.layout.journal, encoding: .utf8)) ?? ""
        #expect(!journal.contains("erin@example.com") && !journal.contains("mine "))
        #expect(!env.logLines().contains { $0.lowercased().contains("erin@example.com") })
        #expect(env.services.contacts.contact(email: "erin@example.com") == nil)
        let audit = try String(contentsOfFile: env.services.layout.auditFile, encoding: .utf8)
        #expect(audit.contains(#""action":"erased""#) && !audit.contains("erin"))
    }

    /// Rules run when a ticket opens and on each visitor message, once per ticket, also when
    /// messages race; the auto-reply shows to the visitor as the organisation.
    @Test func outsideHoursRuleFiresOncePerTicket() async throws {
        let env = try TestEnv { $0.testClock = true }
        try env.addAgent("boss@shop.test", role: .admin)
        var w = Widget.demo
        w.hours = Hours(timeZone: "Europe/Paris", weekly: ["mon": ["09:00-17:00"], "tue": ["09:00-17:00"]])
        try env.services.config.saveWidget(w)
        try env.services.config.saveRules([AutomationRule(id: "away", name: "Closed", on: [.opened, .message],
                                                          conditions: [RuleCondition(.outsideHours)],
                                                          actions: [RuleAction(.reply, text: "We are closed"), RuleAction(.tag, "after-hours")])])
        try await env.app.test(.router) { client in
            // Monday 10:00 in Paris: open, nothing fires.
            #expect(try await client.post("/api/test/clock", #"{"now":"2026-11-23T09:00:00Z"}"#).status == .ok)
            let open = try await client.startTicket()
            #expect(env.services.store.summary(open.id)?.firedRules == [])
            // Saturday: closed.
            _ = try await client.post("/api/test/clock", #"{"now":"2026-11-21T12:00:00Z"}"#)
            let t = try await client.startTicket()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<5 {
                    group.addTask { _ = try await client.post("/api/tickets/\(t.id)/messages", #"{"id":"m\#(i)","text":"anyone?"}"#, headers: bearer(t.token)) }
                }
                try await group.waitForAll()
            }
            let events = try object(try await client.get("/api/tickets/\(t.id)/events", headers: bearer(t.token))).list("events")
            let replies = events.filter { $0.dict("by")?.str("kind") == "bot" && $0.str("type") == "message" }
            #expect(replies.map { $0.str("text") } == ["We are closed"])
            #expect(replies.first?.dict("by")?.str("name") == "Hearth & Hollow")
            #expect(!events.contains { $0.str("type") == "tag.added" })  // internal: not the visitor's
            #expect(env.services.store.summary(t.id)?.tags == ["after-hours"])
            #expect(env.services.store.summary(t.id)?.firedRules == ["away"])
        }
        #expect(env.logLines().filter { $0.contains(#""type":"autoresponder""#) }.count == 1)
    }
}
