import Foundation
import Testing
@testable import ParleyCore

@Suite("Ticket log: parsing and recovery")
struct TicketLogTests {
    @Test func cleanLogHasAllEventsAndNoDamage() throws {
        let log = logLine(seq: 1) + logLine(seq: 2) + logLine(seq: 3)
        let c = TicketLog.parse(log)
        #expect(c.isClean)
        #expect(c.events.map(\.seq) == [1, 2, 3])
        #expect(c.events.first?.type == EventType.opened)
        #expect(c.validLength == log.count)
        #expect(c.tornTail.isEmpty)
        #expect(c.damage.isEmpty)
    }

    @Test func emptyLogIsCleanAndEmpty() {
        let c = TicketLog.parse([])
        #expect(c.isClean)
        #expect(c.events.isEmpty)
        #expect(c.validLength == 0)
    }

    @Test func lastLineWithoutNewlineIsATornTail() {
        let good = logLine(seq: 1) + logLine(seq: 2)
        let full = logLine(seq: 3)
        let torn = Array(full.dropLast())  // a complete JSON object, but the newline never made it
        let c = TicketLog.parse(good + torn)
        #expect(c.events.map(\.seq) == [1, 2])
        #expect(c.validLength == good.count)
        #expect(c.tornTail == torn)
        #expect(c.damage.isEmpty)
        #expect(!c.isClean)
    }

    @Test func halfWrittenLastLineIsATornTail() {
        let good = logLine(seq: 1)
        let torn = Array(logLine(seq: 2).prefix(17))
        let c = TicketLog.parse(good + torn)
        #expect(c.events.map(\.seq) == [1])
        #expect(c.validLength == good.count)
        #expect(c.tornTail == torn)
        #expect(c.damage.isEmpty)
    }

    @Test func completeLastLineThatDoesNotParseIsATornTail() {
        let good = logLine(seq: 1) + logLine(seq: 2)
        let bad = bytes("{\"seq\":3,\"at\":\"2025-11-21T13:3\u{0}garbage}\n")
        let c = TicketLog.parse(good + bad)
        #expect(c.events.map(\.seq) == [1, 2])
        #expect(c.validLength == good.count)
        #expect(c.tornTail == bad)
        #expect(c.damage.isEmpty)
    }

    @Test func lastLineMissingRequiredFieldsIsATornTail() {
        let good = logLine(seq: 1)
        let bad = bytes("{\"seq\":2,\"type\":\"message\",\"by\":{\"kind\":\"visitor\"}}\n")  // no `at`
        let c = TicketLog.parse(good + bad)
        #expect(c.events.map(\.seq) == [1])
        #expect(c.tornTail == bad)
    }

    @Test func badLineInTheMiddleIsReportedAndLaterLinesKept() {
        let log = logLine(seq: 1) + logLine(seq: 2) + bytes("this is not json\n") + logLine(seq: 4) + logLine(seq: 5)
        let c = TicketLog.parse(log)
        #expect(!c.damage.isEmpty)
        #expect(c.damage.first?.contains("line 3") == true)
        #expect(c.events.map(\.seq) == [1, 2, 4, 5])
        #expect(c.tornTail.isEmpty)
        #expect(c.validLength == log.count)  // nothing may be cut: the damage is not a torn tail
        #expect(!c.isClean)
    }

    /// A bad line followed by exactly one good line: that good, complete, acknowledged last line
    /// must not be mistaken for a torn tail (repair would move it out of the log).
    @Test func goodLastLineAfterABadMiddleLineIsNotATornTail() {
        let log = logLine(seq: 1) + bytes("{broken\n") + logLine(seq: 3)
        let c = TicketLog.parse(log)
        #expect(c.damage.first?.contains("line 2") == true)
        #expect(c.tornTail.isEmpty)
        #expect(c.events.map(\.seq) == [1, 3])
        #expect(c.validLength == log.count)
    }

    /// An extra unreadable line (not one standing in for a record) loses nothing either.
    @Test func insertedBadLineKeepsTheSeqsAroundIt() {
        let log = logLine(seq: 1) + bytes("garbage\n") + logLine(seq: 2) + logLine(seq: 3)
        let c = TicketLog.parse(log)
        #expect(c.events.map(\.seq) == [1, 2, 3])
        #expect(c.damage.count == 1)
        #expect(c.tornTail.isEmpty)
        #expect(c.validLength == log.count)
    }

    /// A crash can tear the last line but cannot write a whole, parseable line with a wrong seq:
    /// that is damage to report, not a tail to cut.
    @Test func parseableLastLineWithAWrongSeqIsDamageNotATornTail() {
        let log = logLine(seq: 1) + logLine(seq: 2) + logLine(seq: 2)
        let c = TicketLog.parse(log)
        #expect(c.tornTail.isEmpty)
        #expect(c.damage.first?.contains("line 3") == true)
        #expect(c.validLength == log.count)
    }

    @Test func seqGapInTheMiddleIsReported() {
        let log = logLine(seq: 1) + logLine(seq: 2) + logLine(seq: 4) + logLine(seq: 5)
        let c = TicketLog.parse(log)
        #expect(c.damage.count == 1)
        #expect(c.damage.first?.contains("line 3") == true)
        #expect(c.damage.first?.contains("seq 4") == true)
        #expect(c.events.map(\.seq) == [1, 2, 4, 5])
        #expect(c.tornTail.isEmpty)
        #expect(c.validLength == log.count)
    }

    @Test func duplicateSeqInTheMiddleIsReported() {
        let log = logLine(seq: 1) + logLine(seq: 2) + logLine(seq: 2) + logLine(seq: 3)
        let c = TicketLog.parse(log)
        #expect(!c.damage.isEmpty)
        #expect(c.damage.first?.contains("line 3") == true)
    }

    @Test func readDoesNotModifyTheFile() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = tmp.path + "/20251121-abcdefghij.jsonl"
        let log = logLine(seq: 1) + bytes("{\"seq\":2")
        try Durable.writeNew(path: path, bytes: log)
        let c = try TicketLog.read(path: path)
        #expect(c.tornTail == bytes("{\"seq\":2"))
        #expect(readBytes(path) == log)
    }

    @Test func readOfAMissingFileThrows() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        #expect(throws: ParleyError.self) { try TicketLog.read(path: tmp.path + "/missing.jsonl") }
    }

    @Test func cutTornTailMovesExactBytesToQuarantineAndTruncates() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = tmp.path + "/20251121-abcdefghij.jsonl"
        let quarantine = tmp.path + "/quarantine"
        let good = logLine(seq: 1) + logLine(seq: 2)
        let tail = bytes("{\"seq\":3,\"at\":\"2025-11-21T13:30:45.000Z\",\"ty")
        try Durable.writeNew(path: path, bytes: good + tail)

        let contents = try TicketLog.read(path: path)
        let q = try #require(try TicketLog.cutTornTail(path: path, contents: contents, quarantineDir: quarantine))

        #expect(q.hasPrefix(quarantine + "/"))
        #expect(q.contains("20251121-abcdefghij.jsonl"))
        #expect(readBytes(q) == tail)
        #expect(files(in: quarantine).count == 1)
        #expect(readBytes(path) == good)
        let after = try TicketLog.read(path: path)
        #expect(after.isClean)
        #expect(after.events.map(\.seq) == [1, 2])
    }

    @Test func cutTornTailOnACleanLogChangesNothing() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = tmp.path + "/20251121-abcdefghij.jsonl"
        let log = logLine(seq: 1) + logLine(seq: 2)
        try Durable.writeNew(path: path, bytes: log)
        let q = try TicketLog.cutTornTail(path: path, contents: try TicketLog.read(path: path), quarantineDir: tmp.path + "/quarantine")
        #expect(q == nil)
        #expect(readBytes(path) == log)
        #expect(files(in: tmp.path + "/quarantine").isEmpty)
    }

    @Test func twoCutsOfTheSameLogKeepBothTails() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = tmp.path + "/20251121-abcdefghij.jsonl"
        let quarantine = tmp.path + "/quarantine"
        try Durable.writeNew(path: path, bytes: logLine(seq: 1) + bytes("tail one"))
        try TicketLog.cutTornTail(path: path, contents: try TicketLog.read(path: path), quarantineDir: quarantine)
        try appendBytes(path, bytes("tail two"))
        try TicketLog.cutTornTail(path: path, contents: try TicketLog.read(path: path), quarantineDir: quarantine)
        let tails = Set(files(in: quarantine).map { readBytes(quarantine + "/" + $0) })
        #expect(tails == [bytes("tail one"), bytes("tail two")])
        #expect(readBytes(path) == logLine(seq: 1))
    }
}

@Suite("Durable file helpers")
struct DurableTests {
    @Test func writeNewRefusesToOverwrite() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = tmp.path + "/f"
        try Durable.writeNew(path: path, bytes: bytes("first"))
        #expect(throws: ParleyError.self) { try Durable.writeNew(path: path, bytes: bytes("second")) }
        #expect(readBytes(path) == bytes("first"))
    }

    @Test func replaceSwapsContentAndLeavesNoTempFile() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let path = tmp.path + "/config.json"
        try Durable.replace(path: path, bytes: bytes("one"))
        try Durable.replace(path: path, bytes: bytes("two"), mode: 0o600)
        #expect(readBytes(path) == bytes("two"))
        #expect(files(in: tmp.path) == ["config.json"])
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    @Test func makeDirectoryCreatesParentsAndRefusesAFile() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        try Durable.makeDirectory(tmp.path + "/a/b/c")
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: tmp.path + "/a/b/c", isDirectory: &isDir) && isDir.boolValue)
        try Durable.makeDirectory(tmp.path + "/a/b/c")  // idempotent
        try Durable.writeNew(path: tmp.path + "/file", bytes: [])
        #expect(throws: ParleyError.self) { try Durable.makeDirectory(tmp.path + "/file") }
    }
}
