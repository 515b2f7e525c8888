import Foundation
import Testing
@testable import ParleyCore

@Suite("Data checker")
struct DataCheckerTests {
    /// A data folder with two tickets, an agent, the demo widget and a secret.
    private func healthyFolder() async throws -> (TempFolder, [String]) {
        _ = fastBcrypt
        let tmp = try TempFolder()
        let store = try makeStore(tmp)
        let (a, _) = try await store.createTicket(opened: openedDraft(), then: [visitorMessage("hi")])
        let (b, _) = try await store.createTicket(opened: openedDraft())
        _ = try await store.append(ticket: b.id, [agentMessage("hello")])
        store.shutdown()
        let config = try ConfigStore(layout: tmp.layout)
        try config.addAgent(email: "admin@example.com", name: "Admin", role: .admin, password: "correct horse battery", widgets: ["*"])
        try config.ensureDemoWidget()
        _ = try ServerSecret.loadOrCreate(layout: tmp.layout)
        return (tmp, [a.id, b.id])
    }

    @Test func healthyFolderIsHealthy() async throws {
        let (tmp, _) = try await healthyFolder(); defer { tmp.remove() }
        let report = try DataChecker.run(layout: tmp.layout, repair: false)
        #expect(report.isHealthy, "\(report.problems)")
        #expect(report.logs == 2)
        #expect(report.events == 4)
        #expect(report.repaired.isEmpty)
    }

    @Test func missingFolderThrows() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        #expect(throws: ParleyError.self) { try DataChecker.run(layout: DataLayout(root: tmp.path + "/nope"), repair: false) }
    }

    @Test func tornTailIsAProblemUntilRepaired() async throws {
        let (tmp, ids) = try await healthyFolder(); defer { tmp.remove() }
        let path = try #require(tmp.layout.ticketPath(ids[0]))
        let good = readBytes(path)
        try appendBytes(path, bytes("{\"seq\":3,\"at\""))

        let found = try DataChecker.run(layout: tmp.layout, repair: false)
        #expect(!found.isHealthy)
        #expect(found.problems.count == 1)
        #expect(found.problems.first?.contains("torn tail") == true)
        #expect(found.problems.first?.contains(ids[0]) == true)
        #expect(readBytes(path) != good)  // checking alone changes nothing

        let repaired = try DataChecker.run(layout: tmp.layout, repair: true)
        #expect(repaired.isHealthy, "\(repaired.problems)")
        #expect(repaired.repaired.count == 1)
        #expect(readBytes(path) == good)
        #expect(files(in: tmp.layout.quarantine).count == 1)

        let second = try DataChecker.run(layout: tmp.layout, repair: false)
        #expect(second.isHealthy, "\(second.problems)")
        #expect(second.repaired.isEmpty)
    }

    @Test func damageInTheMiddleStaysAProblemAfterRepair() async throws {
        let (tmp, ids) = try await healthyFolder(); defer { tmp.remove() }
        let path = try #require(tmp.layout.ticketPath(ids[1]))
        // seq 1, 2 are good; a bad line, then seq 4 and 5.
        try appendBytes(path, bytes("{\"bad\n") + logLine(seq: 4) + logLine(seq: 5))
        let damaged = readBytes(path)

        let report = try DataChecker.run(layout: tmp.layout, repair: true)
        #expect(!report.isHealthy)
        #expect(report.problems.contains { $0.contains(ids[1]) && $0.contains("line 3") })
        #expect(report.repaired.isEmpty)
        #expect(readBytes(path) == damaged)  // no program can know which history is right
        #expect(!(try DataChecker.run(layout: tmp.layout, repair: true)).isHealthy)
    }

    /// Repair must never cut a good, complete last line just because a bad line precedes it.
    @Test func repairKeepsAGoodLastLineAfterMiddleDamage() async throws {
        let (tmp, ids) = try await healthyFolder(); defer { tmp.remove() }
        let path = try #require(tmp.layout.ticketPath(ids[1]))
        try appendBytes(path, bytes("{\"bad\n") + logLine(seq: 4))
        let damaged = readBytes(path)

        let report = try DataChecker.run(layout: tmp.layout, repair: true)
        #expect(!report.isHealthy)
        #expect(report.repaired.isEmpty)
        #expect(readBytes(path) == damaged)
        #expect(files(in: tmp.layout.quarantine).isEmpty)
    }

    @Test func invalidAgentsFileIsReported() async throws {
        let (tmp, _) = try await healthyFolder(); defer { tmp.remove() }
        try Durable.replace(path: tmp.layout.agentsFile, bytes: bytes("[{\"email\": 1"))
        let report = try DataChecker.run(layout: tmp.layout, repair: true)
        #expect(report.problems == ["config/agents.json: not a valid agents file"])
    }

    @Test func invalidWidgetAndSecretAreReported() async throws {
        let (tmp, _) = try await healthyFolder(); defer { tmp.remove() }
        try Durable.replace(path: tmp.layout.widgets + "/broken.json", bytes: bytes("{}"))
        try Durable.replace(path: tmp.layout.secretKey, bytes: bytes("short\n"))
        let report = try DataChecker.run(layout: tmp.layout, repair: false)
        #expect(report.problems.contains("config/widgets/broken.json: not a valid widget file"))
        #expect(report.problems.contains { $0.hasPrefix("secret.key:") })
        #expect(report.problems.count == 2)
    }

    /// A hand-edited widget with values the admin page would refuse, a broken rules file and a
    /// broken teams file are each named.
    @Test func badWidgetValuesRulesAndTeamsAreReported() async throws {
        let (tmp, _) = try await healthyFolder(); defer { tmp.remove() }
        try Durable.replace(path: tmp.layout.widgets + "/shop.json", bytes: bytes(#"{"id":"shop","spacing":-4}"#))
        #expect(try DataChecker.run(layout: tmp.layout, repair: false).problems == ["config/widgets/shop.json: spacing: Use 0 to 2000 pixels."])
        try Durable.replace(path: tmp.layout.widgets + "/shop.json", bytes: bytes(#"{"id":"shop"}"#))
        try Durable.replace(path: tmp.layout.rulesFile, bytes: bytes(#"{"rules":[{"id":"r","actions":[]}]}"#))
        let rules = try DataChecker.run(layout: tmp.layout, repair: false).problems
        #expect(rules.count == 1 && rules[0].contains("rules.json") && rules[0].contains("rules[0].actions"))
        try Durable.replace(path: tmp.layout.rulesFile, bytes: bytes(#"{"rules":[]}"#))
        try Durable.replace(path: tmp.layout.teamsFile, bytes: bytes(#"[{"name":"x"}]"#))
        let teams = try DataChecker.run(layout: tmp.layout, repair: false).problems
        #expect(teams.count == 1 && teams[0].contains("teams.json"))
    }

    @Test func logNotStartingWithTicketOpenedIsReported() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        try tmp.layout.create()
        try Durable.makeDirectory(tmp.layout.tickets + "/2025-11")
        var e = TicketEvent(type: EventType.message, by: EventActor(kind: .visitor))
        e.seq = 1; e.at = "2025-11-21T13:30:45.000Z"; e.text = "orphan"
        try Durable.writeNew(path: tmp.layout.tickets + "/2025-11/20251121-abcdefghij.jsonl", bytes: e.json(forLog: true) + [0x0A])
        try Durable.writeNew(path: tmp.layout.tickets + "/2025-11/not-a-ticket.jsonl", bytes: [])
        let report = try DataChecker.run(layout: tmp.layout, repair: false)
        #expect(report.problems.contains { $0.contains("expected ticket.opened #1") })
        #expect(report.problems.contains { $0.contains("not-a-ticket.jsonl") && $0.contains("not a ticket id") })
    }
}
