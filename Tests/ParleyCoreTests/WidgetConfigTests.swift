import Foundation
@testable import ParleyCore
import Testing

@Suite("Widget settings")
struct WidgetConfigTests {
    @Test func anOldWidgetFileLoadsWithDefaultsForNewSettings() throws {
        let w = try JSONDecoder().decode(Widget.self, from: Data(##"{"id":"old","name":"Old shop","color":"#112233"}"##.utf8))
        #expect(w.color == "#112233")
        #expect(w.offline == OfflineBehaviour())
        #expect(w.offline.mode == .message && w.offline.leaveMessage && !w.offline.noAgentAsClosed)
        #expect(w.language == "auto" && w.strings.isEmpty && w.options.isEmpty && w.prompt == nil)
        #expect(w.identity == .agent && w.organisationName == "Old shop")
        #expect(!w.verifiesIdentity)
    }

    @Test func everyNewSettingRoundTrips() throws {
        var w = Widget(id: "full", name: "Full")
        w.offline = OfflineBehaviour(mode: .hide, message: "Closed", contact: "hi@x.example", leaveMessage: false,
                                     noAgentAsClosed: true, awayMessage: "Away")
        w.language = "fr"; w.strings = ["fr": ["start": "Go"]]; w.identity = .organisation; w.organisation = "Org"
        w.sound = true; w.prompt = ProactivePrompt(delay: 5, title: "T", message: "M")
        w.options = [BotOption(label: "A", welcome: "W", team: "t")]; w.identitySecret = "k"
        let back = try JSONDecoder().decode(Widget.self, from: try JSONEncoder().encode(w))
        #expect(back == w)
        #expect(back.verifiesIdentity && back.organisationName == "Org")
    }

    @Test func aPartialPromptTakesDefaultsInsteadOfFailingTheFile() throws {
        let w = try JSONDecoder().decode(Widget.self, from: Data(#"{"id":"p","prompt":{"message":"Hello"}}"#.utf8))
        #expect(w.prompt == ProactivePrompt(delay: 30, title: "", message: "Hello"))
    }

    @Test func widgetFilesAreReadableByTheOwnerOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-w-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ConfigStore(layout: DataLayout(root: dir))
        var w = Widget(id: "secret", name: "S")
        w.identitySecret = "k"
        try store.saveWidget(w)
        let attrs = try FileManager.default.attributesOfItem(atPath: "\(dir)/config/widgets/secret.json")
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }

    @Test func blankOrganisationAndSecretCountAsUnset() {
        var w = Widget(id: "b", name: "Shop")
        w.organisation = "  "; w.identitySecret = " "
        #expect(w.organisationName == "Shop")
        #expect(!w.verifiesIdentity)
    }

    @Test(arguments: [
        // (hours open now?, no-agent-as-closed, agent online) → availability
        (true, false, false, Widget.Availability.open),
        (true, true, true, .open),
        (true, true, false, .away),
        (false, false, true, .closed),
        (false, true, false, .closed),
    ])
    func availability(open: Bool, noAgentAsClosed: Bool, online: Bool, expected: Widget.Availability) {
        var w = Widget(id: "a", name: "A")
        w.hours = Hours(timeZone: "UTC", weekly: open ? Dictionary(uniqueKeysWithValues: Hours.dayKeys.map { ($0, ["00:00-24:00"]) }) : [:])
        w.offline.noAgentAsClosed = noAgentAsClosed
        #expect(w.availability(at: Date(), agentOnline: online).0 == expected)
    }

    @Test func gzipOutputIsReadByTheSystemGzip() throws {
        let text = Array(String(repeating: "Parley widget, small and fast. ", count: 400).utf8)
        let packed = try #require(Gzip.compress(text))
        #expect(packed.count < text.count / 5)
        #expect(Array(packed.prefix(2)) == [0x1f, 0x8b])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input; p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(packed))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect([UInt8](out) == text)
        // Incompressible bytes still fit the output buffer.
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(Gzip.compress(noise) != nil)
        #expect(Gzip.compress([]) != nil)
    }
}
