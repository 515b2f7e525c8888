import Foundation
import Testing
@testable import ParleyCore

@Suite("Config store: agents and widgets")
struct ConfigStoreTests {
    init() { _ = fastBcrypt }

    private let password = "correct horse battery"

    private func invalid(_ body: () throws -> Void) -> [String: String]? {
        do { try body(); return nil } catch { return invalidFields(error as? ParleyError) }
    }

    @Test func addedAgentCanVerifyItsPassword() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let a = try config.addAgent(email: "  Bob@Shop.Example ", name: " Bob ", role: .agent, password: password, widgets: ["demo"], now: fixedNow)
        #expect(a.email == "bob@shop.example")
        #expect(a.name == "Bob")
        #expect(a.id.hasPrefix("a_"))
        #expect(a.createdAt == "2025-11-21T13:30:45.000Z")
        #expect(!a.passwordHash.contains(password))
        #expect(a.passwordHash.hasPrefix("$2"))
        #expect(Passwords.verify(password, hash: a.passwordHash))
        #expect(!Passwords.verify(password + "!", hash: a.passwordHash))
        #expect(!Passwords.verify(password, hash: ""))
        #expect(config.agent(email: "BOB@shop.example")?.id == a.id)
        #expect(config.agent(id: a.id)?.email == "bob@shop.example")
        #expect(a.canSee(widget: "demo"))
        #expect(!a.canSee(widget: "other"))
    }

    @Test func shortPasswordIsRefused() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let fields = invalid { try config.addAgent(email: "bob@shop.example", name: "Bob", role: .agent, password: "short", widgets: []) }
        #expect(fields?["password"]?.contains("at least 10") == true)
        #expect(config.agents.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: tmp.layout.agentsFile))
    }

    @Test func badEmailAndNameAreRefusedTogether() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let fields = invalid { try config.addAgent(email: "bob", name: " ", role: .agent, password: "x", widgets: []) }
        #expect(Set(fields?.keys.map { $0 } ?? []) == ["email", "name", "password"])
    }

    @Test func duplicateEmailIsAConflict() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.addAgent(email: "bob@shop.example", name: "Bob", role: .agent, password: password, widgets: [])
        #expect {
            try config.addAgent(email: "BOB@shop.example", name: "Bobby", role: .admin, password: password, widgets: [])
        } throws: { error in
            if case .refused(code: "agent_exists", _) = error as? ParleyError { return true }
            return false
        }
        #expect(config.agents.count == 1)
    }

    @Test func lastActiveAdminCannotBeDisabled() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.addAgent(email: "root@shop.example", name: "Root", role: .admin, password: password, widgets: [])
        try config.addAgent(email: "bob@shop.example", name: "Bob", role: .agent, password: password, widgets: [])
        #expect(config.hasAdmin)
        #expect(throws: ParleyError.conflict("root@shop.example is the last admin and cannot be disabled.")) {
            try config.disableAgent(email: "ROOT@shop.example")
        }
        #expect(config.agent(email: "root@shop.example")?.disabled == false)

        try config.disableAgent(email: "bob@shop.example")  // not an admin: fine
        #expect(config.agent(email: "bob@shop.example")?.disabled == true)

        try config.addAgent(email: "second@shop.example", name: "Second", role: .admin, password: password, widgets: [])
        let epoch = try #require(config.agent(email: "root@shop.example")).sessionEpoch
        try config.disableAgent(email: "root@shop.example")
        #expect(config.agent(email: "root@shop.example")?.disabled == true)
        #expect(config.agent(email: "root@shop.example")?.sessionEpoch == epoch + 1)
        #expect(throws: ParleyError.self) { try config.disableAgent(email: "second@shop.example") }
        #expect(config.hasAdmin)
    }

    @Test func disablingAnUnknownAgentIsInvalid() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        #expect(invalid { try config.disableAgent(email: "ghost@shop.example") }?["email"] != nil)
    }

    @Test func setPasswordChangesHashAndEndsSessions() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        let a = try config.addAgent(email: "bob@shop.example", name: "Bob", role: .agent, password: password, widgets: [])
        try config.setPassword(email: "bob@shop.example", password: "a new long password")
        let b = try #require(config.agent(email: "bob@shop.example"))
        #expect(b.sessionEpoch == a.sessionEpoch + 1)
        #expect(Passwords.verify("a new long password", hash: b.passwordHash))
        #expect(!Passwords.verify(password, hash: b.passwordHash))
        #expect(invalid { try config.setPassword(email: "bob@shop.example", password: "tiny") }?["password"] != nil)
    }

    @Test func changesByOneInstanceAreSeenByAnother() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let server = try ConfigStore(layout: tmp.layout)
        #expect(server.agents.isEmpty)
        let cli = try ConfigStore(layout: tmp.layout)
        try cli.addAgent(email: "root@shop.example", name: "Root", role: .admin, password: password, widgets: [])
        #expect(server.agent(email: "root@shop.example")?.role == .admin)

        try cli.addAgent(email: "bob@shop.example", name: "Bob", role: .agent, password: password, widgets: [])
        #expect(server.agents.map(\.email).sorted() == ["bob@shop.example", "root@shop.example"])

        try server.disableAgent(email: "bob@shop.example")
        #expect(cli.agent(email: "bob@shop.example")?.disabled == true)

        // A write by the second instance starts from the file, not from its stale copy.
        try cli.addAgent(email: "carol@shop.example", name: "Carol", role: .agent, password: password, widgets: [])
        let fresh = try ConfigStore(layout: tmp.layout)
        #expect(fresh.agents.count == 3)
        #expect(fresh.agent(email: "bob@shop.example")?.disabled == true)
    }

    @Test func agentsFileIsPrivate() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.addAgent(email: "bob@shop.example", name: "Bob", role: .agent, password: password, widgets: [])
        var st = stat()
        #expect(stat(tmp.layout.agentsFile, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        try config.disableAgent(email: "bob@shop.example")
        #expect(stat(tmp.layout.agentsFile, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(files(in: tmp.layout.config) == ["agents.json"])  // no temp files left
    }

    @Test func corruptAgentsFileIsRefusedAtStart() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        try tmp.layout.create()
        try Durable.replace(path: tmp.layout.agentsFile, bytes: bytes("not json"))
        #expect {
            _ = try ConfigStore(layout: tmp.layout)
        } throws: { error in
            if case .corrupt = error as? ParleyError { return true }
            return false
        }
    }

    @Test func demoWidgetIsCreatedOnce() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        #expect(try config.ensureDemoWidget())
        let path = tmp.layout.widgets + "/demo.json"
        #expect(FileManager.default.fileExists(atPath: path))
        let decoded = try JSONDecoder().decode(Widget.self, from: Data(readBytes(path)))
        #expect(decoded == Widget.demo)
        #expect(config.widget("demo") == Widget.demo)

        var edited = Widget.demo
        edited.welcome = "Edited by the owner"
        try config.saveWidget(edited)
        #expect(try !config.ensureDemoWidget())
        let reopened = try ConfigStore(layout: tmp.layout)
        #expect(try !reopened.ensureDemoWidget())
        #expect(reopened.widget("demo")?.welcome == "Edited by the owner")
        #expect(files(in: tmp.layout.widgets) == ["demo.json"])
    }

    @Test func demoWidgetIsNotCreatedWhenAnotherWidgetExists() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        try config.saveWidget(Widget(id: "shop", name: "Shop"))
        #expect(try !ConfigStore(layout: tmp.layout).ensureDemoWidget())
        #expect(files(in: tmp.layout.widgets) == ["shop.json"])
    }

    @Test func widgetWithABadIdIsRefused() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let config = try ConfigStore(layout: tmp.layout)
        #expect(invalid { try config.saveWidget(Widget(id: "../evil", name: "x")) }?["id"] != nil)
        #expect(files(in: tmp.layout.widgets).isEmpty)
        #expect(files(in: tmp.layout.config).isEmpty, "a refused widget writes nothing, not even a folder")
    }

    @Test func passwordsHonourTheCostOverride() {
        #expect(Passwords.cost == 4)
        #expect(Passwords.hash("whatever password").contains("$04$"))
        #expect(!Passwords.verify("anything at all", hash: Passwords.decoy))
    }
}

@Suite struct InboxSettingsTests {
    @Test func problemsNameEachBadEntry() {
        let s = InboxSettings(
            dispositions: [Disposition(code: "sale", label: "Sale"), Disposition(code: "sale", label: "Again"),
                           Disposition(code: "no spaces", label: " ")],
            canned: [CannedResponse(shortcut: "Hi", title: "Hi", text: "Hello"), CannedResponse(shortcut: "hi", title: "", text: "")])
        let p = s.problems()
        #expect(Set(p.keys) == ["dispositions[1].code", "dispositions[2].code", "dispositions[2].label",
                                "canned[1].shortcut", "canned[1].title", "canned[1].text"])
        #expect(InboxSettings(dispositions: [Disposition(code: "sale", label: "Sale")]).problems().isEmpty)
    }

    @Test func scopedEntriesApplyToTheirWidgetsOnly() {
        let s = InboxSettings(dispositions: [Disposition(code: "a", label: "A"), Disposition(code: "b", label: "B", widgets: ["shop"]),
                                             Disposition(code: "c", label: "C", widgets: [])])
        #expect(s.dispositions(for: "shop").map(\.code) == ["a", "b", "c"])
        #expect(s.dispositions(for: "demo").map(\.code) == ["a", "c"])
    }

    @Test func theFileIsReReadWhenItChangesAndABrokenOneKeepsTheLastGood() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-inbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let layout = DataLayout(root: dir)
        try layout.create()
        let store = try ConfigStore(layout: layout)
        #expect(store.inbox == InboxSettings())
        try Data(#"{"dispositions":[{"code":"sale","label":"Sale"}]}"#.utf8).write(to: URL(fileURLWithPath: layout.inboxFile))
        #expect(store.inbox.dispositions.map(\.code) == ["sale"])
        try Data(#"{"dispositions":[{"code":"bad code","label":"X"}], "canned": 3}"#.utf8).write(to: URL(fileURLWithPath: layout.inboxFile))
        #expect(store.inbox.dispositions.map(\.code) == ["sale"], "a broken edit keeps the last good settings")
        #expect(throws: ParleyError.self) { try ConfigStore(layout: layout) }
        #expect(try DataChecker.run(layout: layout, repair: false).problems.contains { $0.hasPrefix("config/inbox.json") })
        #expect(throws: ParleyError.self) { try store.saveInbox(InboxSettings(canned: [CannedResponse(shortcut: "", title: "t", text: "x")])) }
        try store.saveInbox(InboxSettings(canned: [CannedResponse(shortcut: "hi", title: "Hi", text: "Hello")]))
        #expect(try InboxSettings.load(path: layout.inboxFile).canned.map(\.shortcut) == ["hi"])
    }
}
