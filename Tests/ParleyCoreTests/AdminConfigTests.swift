import Foundation
import Testing
@testable import ParleyCore

/// The admin console's core: widget validation, drafts, publish and rollback (append-only
/// history), teams giving access, rules files, the audit log and invite links.
@Suite("Admin config: widgets, history, teams, rules, audit, invites")
struct AdminConfigTests {
    init() { _ = fastBcrypt }

    static let admin = Changer(id: "a_1", name: "Ann", email: "ann@shop.test")

    private func refusal(_ body: () throws -> Void) -> ParleyError? {
        do { try body(); return nil } catch { return error as? ParleyError }
    }

    // MARK: validation

    @Test func defaultWidgetIsValid() {
        #expect(Widget(id: "shop", name: "Shop").problems() == [:])
        #expect(Widget.demo.problems() == [:])
    }

    /// Each bad value is named by its JSON path, all at once.
    @Test func everyBadSettingIsNamedByItsPath() {
        var w = Widget(id: "shop", name: " ")
        w.color = "blue"; w.alignment = "middle"; w.spacing = -5
        w.allowedOrigins = ["https://shop.example", "https://shop.example/path", "shop.example"]
        w.pathRules = PathRules(mode: .blacklist, paths: ["/ok*", "checkout"])
        w.hours = Hours(timeZone: "Mars/Olympus", weekly: ["mon": ["09:00-17:00", "18:00-17:00"]], closed: ["2026-13-01"])
        w.fields = [FormField(id: "name", type: .name, label: "Name", required: true),
                    FormField(id: "name", type: .category, label: "", required: false, options: [])]
        w.options = [BotOption(label: "")]
        w.prompt = ProactivePrompt(delay: 4000, title: "Hi", message: "")
        w.targetResponseSeconds = 5; w.maxFileSize = 0; w.maxFiles = 50
        w.allowedTypes = ["image/*", "*/png", "pdf"]
        w.language = "de"
        w.strings = ["fr": ["start": "", "bad key": "x"], "de": ["start": "Los"]]
        w.identitySecret = "short"
        let p = w.problems()
        let expected: Set<String> = [
            "name", "color", "alignment", "spacing", "allowedOrigins[1]", "allowedOrigins[2]", "pathRules.paths[1]",
            "hours.timeZone", "hours.weekly.mon[1]", "hours.closed[0]", "fields[1].id", "fields[1].label", "fields[1].options",
            "options[0].label", "prompt.delay", "prompt.message", "targetResponseSeconds", "maxFileSize", "maxFiles",
            "allowedTypes[1]", "allowedTypes[2]", "language", "strings.fr.start", "strings.fr.bad key", "strings.de", "identitySecret",
        ]
        #expect(Set(p.keys) == expected)
        #expect(p["spacing"] == "Use 0 to 2000 pixels.")
    }

    @Test(arguments: [
        ("https://shop.example", true), ("http://localhost:3000", true), ("https://Shop.Example", true),
        ("https://shop.example/", false), ("ftp://shop.example", false), ("https://shop.example?x=1", false),
        ("https://user@shop.example", false), ("", false),
    ])
    func origins(_ origin: String, _ ok: Bool) {
        #expect(Widget.isOrigin(origin) == ok)
    }

    @Test func warningsAskForOriginsAndSecret() {
        var w = Widget(id: "shop", name: "Shop")
        #expect(w.warnings.count == 2)
        w.allowedOrigins = ["https://shop.example"]; w.identitySecret = String(repeating: "k", count: 32)
        #expect(w.warnings.isEmpty)
    }

    /// The admin API answers with every key, unset ones as null, and reads them back the same.
    @Test func widgetJSONHasEveryKeyAndRoundTrips() throws {
        var w = Widget(id: "shop", name: "Shop")
        w.hours = Hours(timeZone: "Europe/Paris", weekly: ["mon": ["09:00-17:00"]])
        let data = try JSONEncoder().encode(w)
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(obj["identitySecret"] is NSNull && obj["prompt"] is NSNull && obj["organisation"] is NSNull)
        #expect(obj.count == 25)
        #expect(try JSONDecoder().decode(Widget.self, from: data) == w)
    }

    // MARK: drafts, publish, history, rollback

    @Test func aNewWidgetIsADraftUntilPublished() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let st = try config.createWidget(id: "corner", name: "Corner", by: Self.admin)
        #expect(st.version == 0 && st.published == nil && st.draft?.widget.name == "Corner")
        #expect(config.widget("corner") == nil)  // not live: the public config is 404
        #expect(config.widgetIDs == ["corner"])
        // A second widget with that id is refused.
        #expect(refusal { _ = try config.createWidget(id: "corner", name: "Again", by: Self.admin) } == .refused(code: "widget_exists", message: "A widget with id corner already exists."))
        #expect(invalidFields(refusal { _ = try config.createWidget(id: "Bad Id", name: "", by: Self.admin) }).map { Set($0.keys) } == ["id", "name"])
        // Its draft cannot be discarded: it is all there is.
        #expect(refusal { _ = try config.discardDraft("corner") } == .refused(code: "never_published", message: "This widget was never published: its draft is all there is."))

        var w = try #require(st.draft?.widget)
        w.alignment = "left"; w.spacing = 80; w.pathRules = PathRules(mode: .blacklist, paths: ["/checkout*"])
        _ = try config.saveDraft(w, by: Self.admin)
        #expect(config.widget("corner") == nil)
        let (live, _) = try config.publish("corner", by: Self.admin, base: EditBase(version: 0))
        #expect(live.version == 1 && live.draft == nil && live.published == w)
        #expect(config.widget("corner") == w)
        #expect(live.publishedBy == Self.admin)
        #expect(!FileManager.default.fileExists(atPath: "\(tmp.layout.drafts)/corner.json"))
    }

    @Test func invalidDraftIsRefusedAndChangesNothing() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.ensureDemoWidget()
        var w = Widget.demo
        w.spacing = -1
        #expect(invalidFields(refusal { _ = try config.saveDraft(w, by: Self.admin) }) == ["spacing": "Use 0 to 2000 pixels."])
        #expect(config.widgetState("demo")?.draft == nil)
        #expect(refusal { _ = try config.publish("demo", by: Self.admin) } == .refused(code: "no_draft", message: "There is no draft to publish."))
        #expect(refusal { _ = try config.saveDraft(Widget(id: "ghost", name: "Ghost"), by: Self.admin) } == .widgetNotFound("ghost"))
    }

    /// Every publish appends a version; restoring publishes an old one again as a new version
    /// (the history only grows) and drops the draft; a stale publish is refused.
    @Test func publishAndRollback() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.ensureDemoWidget()
        #expect(config.widgetState("demo")?.version == 1)
        var w = Widget.demo
        w.color = "#ff0000"
        _ = try config.saveDraft(w, by: Self.admin)
        _ = try config.publish("demo", by: Self.admin, base: EditBase(version: 1))
        w.alignment = "left"
        _ = try config.saveDraft(w, by: Self.admin)
        // Someone else's draft was based on version 1: refused, nothing changes.
        #expect(refusal { _ = try config.publish("demo", by: Self.admin, base: EditBase(version: 1)) }
                == .refused(code: "version_conflict", message: "Version 2 was published since you started editing (you had version 1). Reload to see it."))
        _ = try config.publish("demo", by: Self.admin, base: EditBase(version: 2))
        #expect(config.widget("demo")?.alignment == "left")

        let versions = config.versions("demo")
        #expect(versions.map(\.version) == [1, 2, 3])
        #expect(versions.map(\.changed) == [[], ["color"], ["alignment"]])
        #expect(versions[0].by == .system)

        // A pending draft is dropped by a restore.
        w.welcome = "Draft only"
        _ = try config.saveDraft(w, by: Self.admin)
        let (st, _) = try config.restore("demo", version: 1, by: Self.admin)
        #expect(st.version == 4 && st.draft == nil)
        #expect(config.widget("demo") == Widget.demo)
        #expect(config.versions("demo").last?.restoredFrom == 1)
        #expect(config.versions("demo").last?.changed == ["alignment", "color"])
        #expect(refusal { _ = try config.restore("demo", version: 9, by: Self.admin) } == .refused(code: "version_not_found", message: "Widget demo has no version 9."))

        // Everything survives a restart: live settings, versions, no draft.
        let again = try ConfigStore(layout: tmp.layout)
        #expect(again.widget("demo") == Widget.demo)
        #expect(again.widgetState("demo")?.version == 4)
        #expect(again.versions("demo").count == 4)
    }

    /// Two admins on one draft: a save or publish based on a draft revision that is not the
    /// current one is refused, never overwriting or publishing edits its author has not seen.
    @Test func aDraftSomeoneElseSavedIsNotOverwrittenNorPublished() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.ensureDemoWidget()
        let bob = Changer(id: "a_2", name: "Bob")
        var a = Widget.demo; a.welcome = "Ann's"
        var b = Widget.demo; b.welcome = "Bob's"
        #expect(try config.saveDraft(a, by: Self.admin, base: EditBase(version: 1, revision: 0)).0.draft?.revision == 1)
        // Bob loaded the page before Ann's first save (no draft then).
        #expect(refusal { _ = try config.saveDraft(b, by: bob, base: EditBase(version: 1, revision: 0)) }
                == .refused(code: "draft_conflict", message: "Ann saved this draft since you loaded it. Reload to see their changes."))
        _ = try config.saveDraft(b, by: bob, base: EditBase(version: 1, revision: 1))
        // Ann, still on revision 1, cannot publish Bob's text unseen, nor discard it.
        #expect(refusal { _ = try config.publish("demo", by: Self.admin, base: EditBase(version: 1, revision: 1)) }?.description.contains("Bob saved") == true)
        #expect(refusal { _ = try config.discardDraft("demo", base: EditBase(revision: 1)) } != nil)
        #expect(config.widget("demo")?.welcome == Widget.demo.welcome)
        _ = try config.publish("demo", by: Self.admin, base: EditBase(version: 1, revision: 2))
        #expect(config.widget("demo")?.welcome == "Bob's")
        // After the publish the draft is gone: an editor still on revision 2 is told so.
        #expect(refusal { _ = try config.saveDraft(a, by: Self.admin, base: EditBase(revision: 2)) }?.description.contains("published or discarded") == true)
    }

    /// An old version that no longer passes the checks (written by hand) is not put live again.
    @Test func restoringAVersionThatFailsTodaysChecksIsRefused() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        var hand = Widget(id: "shop", name: "Shop")
        hand.spacing = 99_999
        try config.saveWidget(hand)
        var fixed = hand
        fixed.spacing = 30
        _ = try config.saveDraft(fixed, by: Self.admin)
        _ = try config.publish("shop", by: Self.admin)
        #expect(invalidFields(refusal { _ = try config.restore("shop", version: 1, by: Self.admin) }) == ["spacing": "Use 0 to 2000 pixels."])
        #expect(config.widget("shop")?.spacing == 30)
    }

    @Test func aDefaultPortInAnAllowedSiteIsRefused() {
        var w = Widget(id: "shop", name: "Shop")
        w.allowedOrigins = ["https://shop.example:443", "http://shop.example:80", "https://shop.example:8443"]
        #expect(Set(w.problems().keys) == ["allowedOrigins[0]", "allowedOrigins[1]"])
        #expect(w.problems()["allowedOrigins[0]"]?.contains(":443") == true)
    }

    /// The live file is the truth: settings the history lacks (edited by hand, or a publish cut
    /// short before its history line) show as a version by `system`, recorded at the next publish.
    @Test func liveSettingsTheHistoryLacksCountAsAVersion() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.ensureDemoWidget()
        var hand = Widget.demo
        hand.spacing = 55
        try config.saveWidget(hand)
        let again = try ConfigStore(layout: tmp.layout)
        #expect(again.widget("demo")?.spacing == 55)
        #expect(again.widgetState("demo")?.version == 2)
        #expect(again.versions("demo").last.map { [$0.by == .system, $0.at.isEmpty] } == [true, true])
        #expect(again.versions("demo").last?.changed == ["spacing"])
        var w = hand
        w.color = "#000000"
        _ = try again.saveDraft(w, by: Self.admin)
        _ = try again.publish("demo", by: Self.admin, base: EditBase(version: 2))
        let recorded = JSONLines.read(WidgetVersion.self, path: "\(tmp.layout.history)/demo.jsonl").map(\.1)
        #expect(recorded.map(\.version) == [1, 2, 3])
        #expect(recorded.map(\.widget.spacing) == [25, 55, 55])
        #expect(recorded[1].by == .system && !recorded[1].at.isEmpty)
    }

    /// A widget written by hand (no history) counts as version 1 and is kept as such at the
    /// first publish, so it can be restored.
    @Test func handWrittenWidgetBecomesVersionOne() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let boot = try ConfigStore(layout: tmp.layout)
        var hand = Widget(id: "shop", name: "Shop")
        hand.color = "#123456"
        try boot.saveWidget(hand)
        let config = try ConfigStore(layout: tmp.layout)
        #expect(config.widgetState("shop")?.version == 1)
        #expect(config.versions("shop").map(\.version) == [1])
        var w = hand
        w.color = "#654321"
        _ = try config.saveDraft(w, by: Self.admin)
        _ = try config.publish("shop", by: Self.admin, base: EditBase(version: 1))
        #expect(config.versions("shop").map(\.widget.color) == ["#123456", "#654321"])
        _ = try config.restore("shop", version: 1, by: Self.admin)
        #expect(config.widget("shop")?.color == "#123456")
    }

    /// A torn last history line (a crash mid-append) is skipped, and the next append starts on
    /// its own line.
    @Test func tornHistoryLineIsSkipped() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.ensureDemoWidget()
        try appendBytes("\(tmp.layout.history)/demo.jsonl", bytes("{\"version\":2,\"at\":"))
        #expect(config.versions("demo").map(\.version) == [1])
        var w = Widget.demo
        w.spacing = 40
        _ = try config.saveDraft(w, by: Self.admin)
        _ = try config.publish("demo", by: Self.admin)
        #expect(config.versions("demo").map(\.version) == [1, 2])
        #expect(try ConfigStore(layout: tmp.layout).widget("demo")?.spacing == 40)
    }

    // MARK: agents, teams, invites

    @Test func teamsGiveTheirWidgets() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let a = try config.addAgent(email: "zoe@shop.test", name: "Zoe", role: .agent, password: nil, widgets: ["demo"], teams: ["sales"])
        #expect(a.passwordHash.isEmpty)
        #expect(config.agent(id: a.id)?.canSee(widget: "shop") == false)
        try config.saveTeams([Team(id: "sales", name: "Sales", widgets: ["shop"]), Team(id: "billing", name: "Billing", widgets: ["b2b"])])
        #expect(config.agent(id: a.id)?.canSee(widget: "shop") == true)
        #expect(config.agent(id: a.id)?.canSee(widget: "b2b") == false)
        #expect(try ConfigStore(layout: tmp.layout).agent(id: a.id)?.canSee(widget: "shop") == true)
        let bad = invalidFields(refusal { try config.saveTeams([Team(id: "sales", name: "A"), Team(id: "Sales", name: ""), Team(id: "x y", name: "B")]) })
        #expect(bad.map { Set($0.keys) } == ["teams[1].id", "teams[1].name", "teams[2].id"])
        #expect(config.teams.count == 2)
    }

    @Test func theLastAdminStays() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let ann = try config.addAgent(email: "ann@shop.test", name: "Ann", role: .admin, password: "a long password", widgets: ["*"])
        let bob = try config.addAgent(email: "bob@shop.test", name: "Bob", role: .agent, password: "a long password", widgets: [])
        #expect(refusal { _ = try config.changeAgent(id: ann.id, .init(role: .agent)) }?.description.contains("last admin") == true)
        #expect(refusal { _ = try config.changeAgent(id: ann.id, .init(disabled: true)) }?.description.contains("last admin") == true)
        #expect(config.agent(id: ann.id)?.role == .admin)
        // An invited admin (no password yet) does not count: it may never sign in.
        let invited = try config.addAgent(email: "ivy@shop.test", name: "Ivy", role: .admin, password: nil, widgets: [])
        #expect(refusal { _ = try config.changeAgent(id: ann.id, .init(role: .agent)) }?.description.contains("last admin") == true)
        #expect(refusal { _ = try config.resetPassword(id: ann.id, password: nil) }?.description.contains("last admin") == true)
        #expect(config.hasAdmin)
        _ = try config.changeAgent(id: invited.id, .init(disabled: true))
        let promoted = try config.changeAgent(id: bob.id, .init(name: " Bobby ", role: .admin, widgets: ["demo"], teams: ["sales"]))
        #expect(promoted.name == "Bobby" && promoted.role == .admin && promoted.teams == ["sales"])
        let demoted = try config.changeAgent(id: ann.id, .init(role: .agent))
        #expect(demoted.role == .agent && demoted.sessionEpoch == ann.sessionEpoch + 1)  // ends its admin sessions
        #expect(invalidFields(refusal { _ = try config.changeAgent(id: bob.id, .init(name: "", widgets: ["Bad Id"])) }).map { Set($0.keys) } == ["name", "widgets[0]"])
    }

    /// An invite link works once, until it expires, and a newer link replaces it.
    @Test func inviteLinks() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let secret = try ServerSecret.loadOrCreate(layout: tmp.layout)
        let a = try config.addAgent(email: "zoe@shop.test", name: "Zoe", role: .agent, password: nil, widgets: [])
        let token = InviteToken.make(agent: a, secret: secret, now: fixedNow)
        #expect(InviteToken.verify(token, secret: secret, config: config, now: fixedNow)?.id == a.id)
        #expect(InviteToken.verify(token, secret: secret, config: config, now: fixedNow.addingTimeInterval(InviteToken.lifetime + 1)) == nil)
        #expect(InviteToken.verify(token + "x", secret: secret, config: config, now: fixedNow) == nil)
        #expect(InviteToken.verify(token.replacingOccurrences(of: a.id, with: "a_other"), secret: secret, config: config, now: fixedNow) == nil)
        let set = try config.redeemInvite(id: a.id, epoch: a.sessionEpoch, password: "a long password")
        #expect(Passwords.verify("a long password", hash: set.passwordHash))
        #expect(InviteToken.verify(token, secret: secret, config: config, now: fixedNow) == nil)  // spent
        #expect(refusal { _ = try config.redeemInvite(id: a.id, epoch: a.sessionEpoch, password: "another password") } != nil)
        // A reset clears the password and makes older links useless.
        let reset = try config.resetPassword(id: a.id, password: nil)
        #expect(reset.passwordHash.isEmpty)
        let fresh = InviteToken.make(agent: reset, secret: secret, now: fixedNow)
        #expect(InviteToken.verify(fresh, secret: secret, config: config, now: fixedNow) != nil)
        _ = try config.resetPassword(id: a.id, password: nil)
        #expect(InviteToken.verify(fresh, secret: secret, config: config, now: fixedNow) == nil)
    }

    // MARK: rules file, audit log

    @Test func rulesAreValidatedSavedAndReRead() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let away = AutomationRule(id: "away", name: "Closed", on: [.opened], conditions: [RuleCondition(.outsideHours)],
                                  actions: [RuleAction(.reply, text: "We are closed")])
        var twin = away
        twin.actions = []
        let bad = invalidFields(refusal { try config.saveRules([away, twin]) })
        #expect(bad == ["rules[1].id": "The id away is used twice.", "rules[1].actions": "A rule needs at least one action."])
        #expect(config.rules.isEmpty)
        try config.saveRules([away])
        #expect(config.rules == [away])
        #expect(try ConfigStore(layout: tmp.layout).rules == [away])
        // A broken file: start-up refuses it; a running server keeps the last good rules.
        try Durable.replace(path: tmp.layout.rulesFile, bytes: bytes("{\"rules\":[{\"id\":\"x\",\"actions\":[]}]}"))
        #expect(config.rules == [away])
        #expect(throws: ParleyError.self) { _ = try ConfigStore(layout: tmp.layout) }
    }

    @Test func auditIsAppendOnlyNewestFirstAndPaged() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let audit = AuditLog(layout: tmp.layout)
        for i in 1...5 { try audit.record(Self.admin, "widget.publish", target: "w\(i)", detail: ["version": "\(i)"], now: fixedNow) }
        try appendBytes(tmp.layout.auditFile, bytes("{\"torn"))
        try audit.record(.cli, "agent.add", target: "zoe@shop.test", now: fixedNow)
        let page = audit.entries(limit: 3)
        #expect(page.entries.map(\.target) == ["zoe@shop.test", "w5", "w4"] && page.more)
        #expect(page.entries[0].by == .cli && page.entries[0].n == 7)
        let older = audit.entries(limit: 3, before: page.entries[2].n)
        #expect(older.entries.map(\.target) == ["w3", "w2", "w1"] && !older.more)
        let text = String(decoding: readBytes(tmp.layout.auditFile), as: UTF8.self)
        #expect(text.split(separator: "\n").count == 7)  // the torn line stays, on its own line
    }
}
