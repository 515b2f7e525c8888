import Foundation
import Testing
@testable import ParleyCore

/// The write-ahead journal: what a crash before a checkpoint leaves, and how it is replayed.
@Suite("Journal")
struct JournalTests {
    /// Simulates a power loss before a checkpoint: the logs lose their unsynced tail (here: cut
    /// back to an earlier length, or torn mid-line), the journal keeps what was acknowledged.
    @Test(arguments: [false, true])
    func acknowledgedLinesLostFromALogAreReplayedFromTheJournal(torn: Bool) async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        // A long checkpoint interval: nothing is checkpointed during the test.
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger, now: { fixedNow }, checkpointInterval: 3600)
        try store.load()
        let (s, _) = try await store.createTicket(opened: openedDraft())
        let path = try #require(tmp.layout.ticketPath(s.id))
        let afterOpen = readBytes(path).count
        for i in 1...5 { _ = try await store.append(ticket: s.id, [visitorMessage("m\(i)")]) }
        let full = readBytes(path)
        let journalBefore = readBytes(tmp.layout.journal)
        #expect(!journalBefore.isEmpty, "records stay in the journal until a checkpoint")

        // The crash: the log keeps only the opening (plus, if torn, half of the next line).
        let kept = torn ? Array(full[0..<(afterOpen + 20)]) : Array(full[0..<afterOpen])
        #expect(FileManager.default.createFile(atPath: path + ".tmp", contents: Data(kept)))
        #expect(rename(path + ".tmp", path) == 0)
        #expect(FileManager.default.createFile(atPath: tmp.layout.journal + ".copy", contents: Data(journalBefore)))

        let check = try DataChecker.run(layout: tmp.layout, repair: false)
        #expect(check.problems.contains { $0.contains("journal.jsonl") })

        // Restart from the crashed state (the old store's final checkpoint must not run on it).
        let crashed = try TempFolder(); defer { crashed.remove() }
        try FileManager.default.removeItem(atPath: crashed.path)
        try FileManager.default.copyItem(atPath: tmp.path, toPath: crashed.path)
        try FileManager.default.removeItem(atPath: crashed.layout.journal)
        try FileManager.default.moveItem(atPath: crashed.layout.journal + ".copy", toPath: crashed.layout.journal)
        store.shutdown()

        let restarted = try TicketStore(layout: crashed.layout, logger: quietLogger, now: { fixedNow })
        defer { restarted.shutdown() }
        let report = try restarted.load()
        #expect(report.replayed == 5)
        let events = try await restarted.events(ticket: s.id)
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(events.compactMap(\.text).suffix(5) == ["m1", "m2", "m3", "m4", "m5"])
        #expect(readBytes(try #require(crashed.layout.ticketPath(s.id))) == full, "the log is byte-identical to before the crash")
        #expect(readBytes(crashed.layout.journal).isEmpty, "replayed, so emptied")
        #expect(try DataChecker.run(layout: crashed.layout, repair: false).isHealthy)
    }

    @Test func aLogWhoseFileWasLostIsRecreatedFromTheJournal() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger, now: { fixedNow }, checkpointInterval: 3600)
        try store.load()
        let (s, token) = try await store.createTicket(opened: openedDraft(), then: [visitorMessage("hello")])
        let path = try #require(tmp.layout.ticketPath(s.id))
        let full = readBytes(path)
        let journal = readBytes(tmp.layout.journal)
        store.shutdown()
        // The crash lost the new file's directory entry.
        try FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: tmp.layout.journal, contents: Data(journal)))

        let repaired = try DataChecker.run(layout: tmp.layout, repair: true)
        #expect(repaired.repaired.contains { $0.contains("replayed 2 record") })
        #expect(readBytes(path) == full)
        let restarted = try TicketStore(layout: tmp.layout, logger: quietLogger); defer { restarted.shutdown() }
        try restarted.load()
        #expect(restarted.visitorTokenMatches(ticket: s.id, token: token))
    }

    @Test func aCleanShutdownLeavesAnEmptyJournalAndSyncedLogs() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger, checkpointInterval: 3600)
        try store.load()
        let (s, _) = try await store.createTicket(opened: openedDraft())
        _ = try await store.append(ticket: s.id, [visitorMessage("x")])
        #expect(!readBytes(tmp.layout.journal).isEmpty)
        store.shutdown()
        #expect(readBytes(tmp.layout.journal).isEmpty)
        #expect(store.commitStats.checkpoints == 1)
        #expect(try TicketLog.read(path: try #require(tmp.layout.ticketPath(s.id))).events.count == 2)
    }

    @Test func aTornJournalTailIsIgnoredAndRecordsAlreadyInLogsAreNotDuplicated() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger, checkpointInterval: 3600)
        try store.load()
        let (s, _) = try await store.createTicket(opened: openedDraft())
        let journal = readBytes(tmp.layout.journal)
        let path = try #require(tmp.layout.ticketPath(s.id))
        let log = readBytes(path)
        store.shutdown()
        // Journal as at the crash (the record is also in the log), plus a torn record.
        let torn = Array(#"{"ticket":"\#(s.id)","event":{"seq":2,"at":"#.utf8)
        #expect(FileManager.default.createFile(atPath: tmp.layout.journal, contents: Data(journal + torn)))
        let restarted = try TicketStore(layout: tmp.layout, logger: quietLogger); defer { restarted.shutdown() }
        let report = try restarted.load()
        #expect(report.replayed == 0)
        #expect(readBytes(path) == log)
    }
}

@Suite("Journal: problems and dedupe")
struct JournalProblemTests {
    @Test func recordsThatCannotBeReplayedAreKeptInQuarantine() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger, now: { fixedNow }, checkpointInterval: 3600)
        try store.load()
        let (s, _) = try await store.createTicket(opened: openedDraft())
        store.shutdown()
        // A record that leaves a gap (seq 5 after seq 1): it cannot be appended.
        var e = visitorMessage("from nowhere"); e.seq = 5; e.at = "2025-11-21T13:30:45.000Z"
        var journal: [UInt8] = []
        Journal.appendRecords(ticket: s.id, lines: e.json(forLog: true) + [0x0A], to: &journal)
        #expect(FileManager.default.createFile(atPath: tmp.layout.journal, contents: Data(journal)))
        let restarted = try TicketStore(layout: tmp.layout, logger: quietLogger); defer { restarted.shutdown() }
        let report = try restarted.load()
        #expect(report.replayed == 0)
        let kept = files(in: tmp.layout.quarantine).filter { $0.hasPrefix("journal.") }
        #expect(kept.count == 1)
        #expect(readBytes(tmp.layout.quarantine + "/" + kept[0]) == journal)
        #expect(try await restarted.events(ticket: s.id).map(\.seq) == [1])
    }

    @Test func aVisitorCannotPreemptAnAgentsClientID() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        _ = try await store.append(ticket: s.id, [visitorMessage("I guessed it", clientId: "r1")], clientId: "r1")
        var reply = TicketEvent(type: EventType.message, by: EventActor(kind: .agent, id: "a_1", name: "Zoe"))
        reply.text = "Real reply"; reply.clientId = "r1"
        let r = try await store.append(ticket: s.id, [reply], clientId: "r1")
        #expect(!r.duplicate)
        #expect(try await store.events(ticket: s.id).compactMap(\.text) == ["I guessed it", "Real reply"])
    }
}

@Suite("Summary cache")
struct SummaryCacheTests {
    func store(_ tmp: TempFolder) throws -> TicketStore {
        let s = try TicketStore(layout: tmp.layout, logger: quietLogger, now: { fixedNow })
        try s.load()
        return s
    }

    @Test func aCleanShutdownLetsTheNextStartSkipUnchangedLogs() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let first = try store(tmp)
        let (a, _) = try await first.createTicket(opened: openedDraft(), then: [visitorMessage("hi")])
        let (b, _) = try await first.createTicket(opened: openedDraft())
        let before = first.summaries().sorted { $0.id < $1.id }
        first.shutdown()
        #expect(FileManager.default.fileExists(atPath: tmp.layout.summaryCache))

        // b's log changes behind the cache's back (an appended line): it must be folded again.
        let path = try #require(tmp.layout.ticketPath(b.id))
        var extra = visitorMessage("added later"); extra.seq = 2; extra.at = "2025-11-21T13:31:00.000Z"
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile(); h.write(Data(extra.json(forLog: true) + [0x0A])); try h.close()

        let second = try TicketStore(layout: tmp.layout, logger: quietLogger)
        defer { second.shutdown() }
        let report = try second.load()
        #expect(report.fromCache == 1)
        #expect(report.tickets == 2)
        #expect(second.summary(a.id) == before.first { $0.id == a.id })
        #expect(second.summary(b.id)?.lastSeq == 2)
        #expect(second.summary(b.id)?.lastMessagePreview == "added later")
    }

    @Test func anUnreadableCacheIsIgnored() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let first = try store(tmp)
        let (a, _) = try await first.createTicket(opened: openedDraft(), then: [visitorMessage("hi")])
        first.shutdown()
        #expect(FileManager.default.createFile(atPath: tmp.layout.summaryCache, contents: Data("{not json".utf8)))
        let second = try TicketStore(layout: tmp.layout, logger: quietLogger)
        defer { second.shutdown() }
        let report = try second.load()
        #expect(report.fromCache == 0)
        #expect(second.summary(a.id)?.lastSeq == 2)
    }
}

@Suite("Journal: rebuilding tails")
struct JournalRebuildTests {
    /// A power cut can leave the unsynced part of a log wrong in the middle (a page of zeros)
    /// while a later page survived: the journal, not the log, says what was acknowledged.
    @Test func aDamagedUnsyncedTailIsRebuiltFromTheJournal() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger, now: { fixedNow }, checkpointInterval: 3600)
        try store.load()
        let (s, _) = try await store.createTicket(opened: openedDraft())
        for i in 1...4 { _ = try await store.append(ticket: s.id, [visitorMessage("m\(i)")]) }
        let path = try #require(tmp.layout.ticketPath(s.id))
        let good = readBytes(path)
        let journal = readBytes(tmp.layout.journal)
        store.shutdown()
        // Zero out the bytes of message 2 (seq 3), keep the rest: damage in the middle.
        let lines = good.split(separator: 0x0A, omittingEmptySubsequences: false)
        let startOfSeq3 = lines[0].count + 1 + lines[1].count + 1
        var broken = good
        for i in startOfSeq3..<(startOfSeq3 + lines[2].count) { broken[i] = 0 }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(broken)))
        #expect(FileManager.default.createFile(atPath: tmp.layout.journal, contents: Data(journal)))
        try? FileManager.default.removeItem(atPath: tmp.layout.summaryCache)

        let restarted = try TicketStore(layout: tmp.layout, logger: quietLogger)
        defer { restarted.shutdown() }
        let report = try restarted.load()
        #expect(report.damaged.isEmpty)
        #expect(readBytes(path) == good, "the log is rebuilt byte for byte")
        #expect(try await restarted.events(ticket: s.id).compactMap(\.text) == ["m1", "m2", "m3", "m4"])
        #expect(files(in: tmp.layout.quarantine).contains { $0.hasSuffix(".replaced") }, "the damaged bytes are kept")
    }

    @Test func twoAgentsMayUseTheSameClientID() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        for (id, text) in [("a_1", "from Zoe"), ("a_2", "from Max")] {
            var m = TicketEvent(type: EventType.message, by: EventActor(kind: .agent, id: id, name: id))
            m.text = text; m.clientId = "c1"
            #expect(try await store.append(ticket: s.id, [m], clientId: "c1").duplicate == false)
        }
        #expect(try await store.events(ticket: s.id).compactMap(\.text) == ["from Zoe", "from Max"])
    }
}
