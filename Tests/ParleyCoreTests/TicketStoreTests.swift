import Foundation
import Synchronization
import Testing
@testable import ParleyCore

@Suite("Ticket store: create, append, reload")
struct TicketStoreTests {
    @Test func appendedEventsSurviveReloadInANewStore() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp)
        let (created, token) = try await store.createTicket(opened: openedDraft(), then: [visitorMessage("Hello", clientId: "c-0")])
        #expect(created.lastSeq == 2)
        for i in 1...5 {
            let r = try await store.append(ticket: created.id, [i.isMultiple(of: 2) ? visitorMessage("v\(i)") : agentMessage("a\(i)")])
            #expect(r.events.map(\.seq) == [2 + i])
            #expect(!r.duplicate)
        }
        let before = try await store.events(ticket: created.id)
        let summaryBefore = try #require(store.summary(created.id))
        store.shutdown()

        let again = try TicketStore(layout: tmp.layout, logger: quietLogger)
        defer { again.shutdown() }
        let report = try again.load()
        #expect(report.tickets == 1)
        #expect(report.events == 7)
        #expect(report.recovered.isEmpty)
        #expect(report.damaged.isEmpty)
        let after = try await again.events(ticket: created.id)
        #expect(after.map(\.seq) == Array(1...7))
        #expect(after == before)
        #expect(again.summary(created.id) == summaryBefore)
        #expect(again.visitorTokenMatches(ticket: created.id, token: token))
        #expect(!again.visitorTokenMatches(ticket: created.id, token: token + "x"))
    }

    @Test func eventsAfterReturnsOnlyLaterEvents() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        for i in 1...4 { _ = try await store.append(ticket: s.id, [visitorMessage("m\(i)")]) }
        #expect(try await store.events(ticket: s.id, after: 3).map(\.seq) == [4, 5])
        #expect(try await store.events(ticket: s.id, after: 5).isEmpty)
        #expect(try await store.events(ticket: s.id, after: 0).count == 5)
    }

    @Test func appendToAnUnknownTicketIsRefused() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        await #expect(throws: ParleyError.ticketNotFound) {
            _ = try await store.append(ticket: "20251121-abcdefghij", [visitorMessage("hi")])
        }
        await #expect(throws: ParleyError.ticketNotFound) {
            _ = try await store.append(ticket: "../../etc/passwd", [visitorMessage("hi")])
        }
    }

    @Test func logFileIsInItsMonthFolderAndEachLineIsValidJSON() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, token) = try await store.createTicket(opened: openedDraft(), then: [visitorMessage("Hello \"shop\"\nline two")])
        _ = try await store.append(ticket: s.id, [agentMessage("Hi!")])

        #expect(s.id.hasPrefix("20251121-"))
        #expect(TicketID.isValid(s.id))
        let path = tmp.path + "/tickets/2025-11/\(s.id).jsonl"
        #expect(store.layout.ticketPath(s.id) == path)
        #expect(files(in: tmp.path + "/tickets") == ["2025-11"])
        #expect(files(in: tmp.path + "/tickets/2025-11") == ["\(s.id).jsonl"])

        let raw = readBytes(path)
        #expect(raw.last == 0x0A)
        let lines = try jsonLines(path)
        #expect(lines.count == 3)
        for (i, line) in lines.enumerated() {
            #expect(line["seq"] as? Int == i + 1)
            let at = try #require(line["at"] as? String)
            #expect(Timestamp.parse(at) != nil)
            #expect(at == "2025-11-21T13:30:45.000Z")
            #expect((line["type"] as? String)?.isEmpty == false)
            let by = try #require(line["by"] as? [String: Any])
            #expect(["visitor", "agent", "system", "bot"].contains(by["kind"] as? String ?? ""))
        }
        #expect(lines[0]["type"] as? String == "ticket.opened")
        #expect(lines[0]["tokenHash"] as? String == Tokens.hash(token))
        #expect(lines[1]["text"] as? String == "Hello \"shop\"\nline two")
        #expect(lines[2]["by"].flatMap { $0 as? [String: Any] }?["kind"] as? String == "agent")
        // The bearer token itself is never written, only its hash.
        #expect(!String(decoding: raw, as: UTF8.self).contains(token))
    }

    @Test func concurrentAppendsGetGaplessSeqsPerTicket() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp)
        var ids: [String] = []
        for _ in 0..<20 { ids.append(try await store.createTicket(opened: openedDraft()).0.id) }
        #expect(Set(ids).count == 20)
        let ticketIds = ids
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                let id = ticketIds[i % 20]
                group.addTask { _ = try await store.append(ticket: id, [visitorMessage("m\(i)")]) }
            }
            try await group.waitForAll()
        }
        var texts: [String] = []
        for id in ids {
            let events = try await store.events(ticket: id)
            #expect(events.map(\.seq) == Array(1...11))
            #expect(store.summary(id)?.lastSeq == 11)
            #expect(store.summary(id)?.visitorMessages == 10)
            texts += events.compactMap(\.text)
        }
        #expect(Set(texts) == Set((0..<200).map { "m\($0)" }))
        #expect(texts.count == 200)
        #expect(store.commitStats.records == 220)
        #expect(store.unavailableReason == nil)
        store.shutdown()

        let again = try TicketStore(layout: tmp.layout, logger: quietLogger)
        defer { again.shutdown() }
        let report = try again.load()
        #expect(report.tickets == 20)
        #expect(report.events == 220)
        #expect(report.recovered.isEmpty && report.damaged.isEmpty)
        for id in ids {
            let path = try #require(tmp.layout.ticketPath(id))
            let onDisk = try TicketLog.read(path: path)
            #expect(onDisk.isClean)
            #expect(onDisk.events.map(\.seq) == Array(1...11))
            #expect(try await again.events(ticket: id).map(\.seq) == Array(1...11))
            #expect(again.summary(id)?.lastSeq == 11)
        }
    }

    @Test func observerSeesEachTicketsEventsOnceInSeqOrder() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let seen = SeenEvents()
        let store = try makeStore(tmp, observer: { summary, events in
            seen.map.withLock { $0[summary.id, default: []] += events.map(\.seq) }
            // The summary handed to the observer already includes the events.
            #expect(summary.lastSeq == events.last?.seq)
        })
        defer { store.shutdown() }
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await store.createTicket(opened: openedDraft()).0.id) }
        let ticketIds = ids
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<100 {
                let id = ticketIds[i % 5]
                group.addTask { _ = try await store.append(ticket: id, [visitorMessage("m\(i)"), agentMessage("r\(i)")]) }
            }
            try await group.waitForAll()
        }
        let result = seen.map.withLock { $0 }
        #expect(result.count == 5)
        for id in ids { #expect(result[id] == Array(1...41)) }
    }

    @Test func droppedStoreIsReleased() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        weak var released: TicketStore?
        do {
            let store = try makeStore(tmp)
            let (s, _) = try await store.createTicket(opened: openedDraft())
            _ = try await store.append(ticket: s.id, [visitorMessage("hi")])
            released = store
        }
        #expect(released == nil)
    }

    @Test func multiEventAppendGetsConsecutiveSeqs() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        var status = TicketEvent(type: EventType.status, by: EventActor(kind: .agent, id: "a_1"))
        status.status = "pending"
        let r = try await store.append(ticket: s.id, [agentMessage("one"), status])
        #expect(r.events.map(\.seq) == [2, 3])
        #expect(r.events.allSatisfy { $0.at == r.events[0].at })
        #expect(r.summary.status == .pending)
        #expect(store.summary(s.id)?.status == .pending)
    }
}

@Suite("Ticket store: retried sends")
struct RetriedSendTests {
    private func lines(withClientId id: String, in path: String) throws -> Int {
        try jsonLines(path).filter { $0["clientId"] as? String == id }.count
    }

    @Test func retriedSendDoesNotDuplicate() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        let first = try await store.append(ticket: s.id, [visitorMessage("Where is my order?", clientId: "c-42")], clientId: "c-42")
        let retry = try await store.append(ticket: s.id, [visitorMessage("Where is my order?", clientId: "c-42")], clientId: "c-42")
        #expect(!first.duplicate)
        #expect(retry.duplicate)
        #expect(retry.events.map(\.seq) == first.events.map(\.seq))
        #expect(retry.events.first?.text == "Where is my order?")
        #expect(try await store.events(ticket: s.id).count == 2)
        #expect(store.summary(s.id)?.visitorMessages == 1)
        #expect(try lines(withClientId: "c-42", in: try #require(tmp.layout.ticketPath(s.id))) == 1)
    }

    @Test func concurrentRetriesOfOneSendStoreOneMessage() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        let id = s.id
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for _ in 0..<16 {
                group.addTask { try await store.append(ticket: id, [visitorMessage("racing", clientId: "c-race")], clientId: "c-race") }
            }
            var out: [AppendResult] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(results.count == 16)
        #expect(results.filter { !$0.duplicate }.count == 1)
        #expect(Set(results.map { $0.events.map(\.seq) }) == [[2]])
        #expect(try await store.events(ticket: id).map(\.seq) == [1, 2])
        #expect(try lines(withClientId: "c-race", in: try #require(tmp.layout.ticketPath(id))) == 1)
    }

    @Test func retryAfterRestartDoesNotDuplicate() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp)
        let (s, _) = try await store.createTicket(opened: openedDraft())
        let first = try await store.append(ticket: s.id, [visitorMessage("hello", clientId: "c-7")], clientId: "c-7")
        store.shutdown()

        let again = try makeStore(tmp); defer { again.shutdown() }
        let retry = try await again.append(ticket: s.id, [visitorMessage("hello", clientId: "c-7")], clientId: "c-7")
        #expect(retry.duplicate)
        #expect(retry.events.map(\.seq) == first.events.map(\.seq))
        #expect(try lines(withClientId: "c-7", in: try #require(tmp.layout.ticketPath(s.id))) == 1)
    }

    /// The first message is written with `ticket.opened`; a retry of it returns the message only,
    /// before and after a restart alike.
    @Test func retryOfTheFirstMessageReturnsThatMessageOnly() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp)
        let (s, _) = try await store.createTicket(opened: openedDraft(), then: [visitorMessage("first", clientId: "c-1")])
        let retry = try await store.append(ticket: s.id, [visitorMessage("first", clientId: "c-1")], clientId: "c-1")
        #expect(retry.duplicate)
        #expect(retry.events.map(\.seq) == [2])
        #expect(retry.events.map(\.type) == [EventType.message])
        store.shutdown()

        let again = try makeStore(tmp); defer { again.shutdown() }
        let afterRestart = try await again.append(ticket: s.id, [visitorMessage("first", clientId: "c-1")], clientId: "c-1")
        #expect(afterRestart.duplicate)
        #expect(afterRestart.events.map(\.seq) == [2])
        #expect(try await again.events(ticket: s.id).count == 2)
    }

    @Test func differentClientIdsAreDifferentMessages() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        let a = try await store.append(ticket: s.id, [visitorMessage("same text", clientId: "c-a")], clientId: "c-a")
        let b = try await store.append(ticket: s.id, [visitorMessage("same text", clientId: "c-b")], clientId: "c-b")
        #expect(!a.duplicate && !b.duplicate)
        #expect(try await store.events(ticket: s.id).map(\.seq) == [1, 2, 3])
    }
}

@Suite("Ticket store: recovery and failures")
struct TicketStoreRecoveryTests {
    @Test(arguments: [
        "{\"seq\":4,\"at\":\"2025-11-",          // half a line, no newline
        "garbage without newline",
        "{\"seq\":4,\"oops\"\n",                 // a complete line that does not parse
    ])
    func tornTailIsQuarantinedAndAppendsContinue(tail: String) async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp)
        let (s, _) = try await store.createTicket(opened: openedDraft(), then: [visitorMessage("one")])
        _ = try await store.append(ticket: s.id, [agentMessage("two")])
        let before = try await store.events(ticket: s.id)
        store.shutdown()

        let path = try #require(tmp.layout.ticketPath(s.id))
        let good = readBytes(path)
        try appendBytes(path, bytes(tail))

        let again = try TicketStore(layout: tmp.layout, logger: quietLogger, now: { fixedNow })
        defer { again.shutdown() }
        let report = try again.load()
        #expect(report.recovered == [s.id])
        #expect(report.damaged.isEmpty)
        #expect(report.tickets == 1)
        #expect(report.events == 3)

        let quarantined = files(in: tmp.layout.quarantine)
        #expect(quarantined.count == 1)
        #expect(quarantined.first.map { readBytes(tmp.layout.quarantine + "/" + $0) } == bytes(tail))
        #expect(readBytes(path) == good)
        #expect(try await again.events(ticket: s.id) == before)

        let r = try await again.append(ticket: s.id, [visitorMessage("three")])
        #expect(r.events.map(\.seq) == [4])
        let onDisk = try TicketLog.read(path: path)
        #expect(onDisk.isClean)
        #expect(onDisk.events.map(\.seq) == [1, 2, 3, 4])
        #expect(try jsonLines(path).count == 4)
    }

    @Test func logWithDamageInTheMiddleLoadsReadOnly() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let store = try makeStore(tmp)
        let (s, _) = try await store.createTicket(opened: openedDraft())
        store.shutdown()
        let path = try #require(tmp.layout.ticketPath(s.id))
        try appendBytes(path, bytes("not json\n") + logLine(seq: 3) + logLine(seq: 4))
        let damagedBytes = readBytes(path)

        let again = try makeStoreReport(tmp)
        defer { again.store.shutdown() }
        #expect(again.report.damaged == [s.id])
        #expect(again.report.recovered.isEmpty)
        #expect(again.store.summary(s.id)?.damaged == true)
        await #expect(throws: ParleyError.self) {
            _ = try await again.store.append(ticket: s.id, [visitorMessage("refused")])
        }
        #expect(readBytes(path) == damagedBytes)
    }

    private func makeStoreReport(_ tmp: TempFolder) throws -> (store: TicketStore, report: TicketStore.LoadReport) {
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger, now: { fixedNow })
        return (store, try store.load())
    }

    @Test func filesThatAreNotTicketLogsAreIgnored() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        try tmp.layout.create()
        try Durable.makeDirectory(tmp.layout.tickets + "/2025-11")
        try Durable.writeNew(path: tmp.layout.tickets + "/2025-11/notes.jsonl", bytes: bytes("hello"))
        let store = try TicketStore(layout: tmp.layout, logger: quietLogger)
        defer { store.shutdown() }
        let report = try store.load()
        #expect(report.tickets == 0)
        #expect(report.recovered.isEmpty)
        #expect(readBytes(tmp.layout.tickets + "/2025-11/notes.jsonl") == bytes("hello"))
    }

    @Test func failedSyncPoisonsTheStore() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let failing = Switch()
        let calls = SyncCalls(
            dataSync: { fd in failing.isOn ? -1 : fdatasync(fd) },
            directorySync: { fd in failing.isOn ? -1 : fsync(fd) })
        let store = try makeStore(tmp, syncCalls: calls); defer { store.shutdown() }
        let (s, _) = try await store.createTicket(opened: openedDraft())
        _ = try await store.append(ticket: s.id, [visitorMessage("fine")])
        #expect(store.unavailableReason == nil)

        failing.set(true)
        let first = await #expect(throws: ParleyError.self) {
            _ = try await store.append(ticket: s.id, [visitorMessage("lost?")])
        }
        #expect(isStoreUnavailable(first))
        #expect(store.unavailableReason != nil)
        // Not acknowledged, so not published either.
        #expect(try await store.events(ticket: s.id).map(\.seq) == [1, 2])
        #expect(store.summary(s.id)?.lastSeq == 2)

        // Syncs work again, but the data may or may not be on disk: writes stay refused.
        failing.set(false)
        let later = await #expect(throws: ParleyError.self) {
            _ = try await store.append(ticket: s.id, [visitorMessage("after")])
        }
        #expect(isStoreUnavailable(later))
        let create = await #expect(throws: ParleyError.self) {
            _ = try await store.createTicket(opened: openedDraft())
        }
        #expect(isStoreUnavailable(create))
        #expect(store.unavailableReason != nil)
        #expect(store.summaries().count == 1)

        // A restart runs recovery and accepts writes again.
        store.shutdown()
        let restarted = try makeStore(tmp); defer { restarted.shutdown() }
        let r = try await restarted.append(ticket: s.id, [visitorMessage("back")])
        #expect(restarted.unavailableReason == nil)
        let onDisk = try TicketLog.read(path: try #require(tmp.layout.ticketPath(s.id)))
        #expect(onDisk.isClean)
        #expect(onDisk.events.last?.seq == r.events.last?.seq)
    }

    /// A new log's directory entry is made durable by the journal at once and synced itself at
    /// the next checkpoint; a failure there poisons the store like any other sync failure.
    @Test func failedDirectorySyncAtCheckpointPoisonsTheStore() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let calls = SyncCalls(dataSync: { fdatasync($0) }, directorySync: { _ in -1 })
        let store = try makeStore(tmp, syncCalls: calls)
        let (s, _) = try await store.createTicket(opened: openedDraft())
        #expect(store.summary(s.id) != nil, "acknowledged once the journal is synced")
        store.shutdown()  // runs the last checkpoint, which syncs the new folder entry
        #expect(store.unavailableReason?.contains("fsync") == true)
        // The journal was not emptied, so a restart still has the ticket.
        let restarted = try makeStore(tmp); defer { restarted.shutdown() }
        #expect(restarted.summary(s.id) != nil)
    }

    @Test func failedSyncOnTheFirstRecordRefusesTheNewTicket() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let calls = SyncCalls(dataSync: { _ in -1 }, directorySync: { _ in -1 })
        let store = try makeStore(tmp, syncCalls: calls); defer { store.shutdown() }
        let e = await #expect(throws: ParleyError.self) {
            _ = try await store.createTicket(opened: openedDraft(), then: [visitorMessage("hi")])
        }
        #expect(isStoreUnavailable(e))
        #expect(store.unavailableReason != nil)
        #expect(store.summaries().isEmpty)
        let again = await #expect(throws: ParleyError.self) {
            _ = try await store.createTicket(opened: openedDraft())
        }
        #expect(isStoreUnavailable(again))
    }
}

final class SeenEvents: Sendable { let map = Mutex<[String: [Int]]>([:]) }
