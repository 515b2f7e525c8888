import Foundation
import Testing
@testable import ParleyCore

/// A crash while a ticket is being created can leave a log with no complete event. Nothing in it
/// was acknowledged, so recovery moves it whole into quarantine instead of flagging it forever.
@Suite("Ticket log: incomplete logs")
struct IncompleteLogTests {
    let id = "20251121-abcdefghij"
    let half = #"{"seq":1,"at":"2025-11-21T13:30:45.000Z","type":"ticket.op"#

    func writeIncompleteLog(_ tmp: TempFolder, _ content: String) throws -> String {
        let dir = tmp.layout.tickets + "/2025-11"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/\(id).jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(content.utf8)))
        return path
    }

    @Test(arguments: ["", #"{"seq":1,"at":"2025-11-21T13:30:45.000Z","type":"ticket.op"#])
    func startUpMovesALogWithNoCompleteEventToQuarantine(content: String) async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = try writeIncompleteLog(tmp, content)
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger)
        defer { store.shutdown() }
        let report = try store.load()
        #expect(report.recovered == [id])
        #expect(report.damaged.isEmpty)
        #expect(store.summary(id) == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
        let q = files(in: tmp.layout.quarantine)
        #expect(q.count == 1 && q[0].hasPrefix(id))
        #expect(readBytes(tmp.layout.quarantine + "/" + q[0]) == bytes(content))
    }

    @Test func checkReportsItAndRepairMovesIt() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = try writeIncompleteLog(tmp, half)
        let before = try DataChecker.run(layout: tmp.layout, repair: false)
        #expect(!before.isHealthy)
        #expect(before.problems.contains { $0.contains("no complete event") })
        #expect(FileManager.default.fileExists(atPath: path), "check without --repair changes nothing")
        let repaired = try DataChecker.run(layout: tmp.layout, repair: true)
        #expect(repaired.isHealthy)
        #expect(repaired.repaired.count == 1)
        #expect(try DataChecker.run(layout: tmp.layout, repair: false).isHealthy)
        #expect(readBytes(tmp.layout.quarantine + "/" + files(in: tmp.layout.quarantine)[0]) == bytes(half))
    }
}
