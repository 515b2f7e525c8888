import Foundation
import Logging

/// The write-ahead journal, `data/journal.jsonl`: every batch of log lines is also appended here,
/// one `{"ticket":"ID","event":{…}}` per line, and this one file is what each batch syncs. The
/// ticket logs catch up at checkpoints, which empty the journal. After a crash, `recover` appends
/// to each log the journal records it is missing, so nothing acknowledged is lost.
public enum Journal {
    static let prefix = Array(#"{"ticket":""#.utf8)
    static let middle = Array(#"","event":"#.utf8)

    /// Wraps each line of `lines` (log lines, each ending in `\n`) as a journal record.
    static func appendRecords(ticket: String, lines: [UInt8], to out: inout [UInt8]) {
        var start = 0
        for i in lines.indices where lines[i] == 0x0A {
            out += prefix; out += ticket.utf8; out += middle
            out += lines[start..<i]
            out.append(UInt8(ascii: "}")); out.append(0x0A)
            start = i + 1
        }
    }

    /// One parsed record: the ticket, the log line (without `\n`) and its event.
    struct Record { let ticket: String; let line: ArraySlice<UInt8>; let event: TicketEvent }

    static func parse(_ line: ArraySlice<UInt8>) -> Record? {
        guard line.count > prefix.count + middle.count + 1, line.starts(with: prefix), line.last == UInt8(ascii: "}") else { return nil }
        let afterPrefix = line.index(line.startIndex, offsetBy: prefix.count)
        guard let quote = line[afterPrefix...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        let ticket = String(decoding: line[afterPrefix..<quote], as: UTF8.self)
        guard TicketID.isValid(ticket), line[quote...].starts(with: middle) else { return nil }
        let body = line[(quote + middle.count)..<(line.endIndex - 1)]
        guard let event = try? TicketEvent.parse(line: body) else { return nil }
        return Record(ticket: ticket, line: body, event: event)
    }

    /// The byte offset where the line with seq `before - 1` ends, if every line up to it is a
    /// valid event with seqs 1, 2, 3…; 0 when `before` is 1; nil if that prefix is not intact.
    static func prefixEnd(_ bytes: [UInt8], before: Int) -> Int? {
        if before <= 1 { return 0 }
        let decoder = JSONDecoder()
        var start = 0
        var expected = 1
        for i in bytes.indices where bytes[i] == 0x0A {
            guard let e = try? TicketEvent.parse(line: bytes[start..<i], decoder: decoder), e.seq == expected else { return nil }
            if expected == before - 1 { return i + 1 }
            expected += 1
            start = i + 1
        }
        return nil
    }

    /// What recovery did (or, in a dry run, would do).
    public struct Report: Sendable {
        /// Records appended to logs (or missing from them, in a dry run).
        public var replayed = 0
        public var tickets: [String] = []
        /// Records that could not be replayed (a gap before them, an unreadable line).
        public var problems: [String] = []
    }

    /// Rebuilds each journaled ticket's log tail from the journal (the journal is what was
    /// acknowledged; the log's unsynced tail may be missing, torn, or only in the page cache),
    /// syncs those logs, then empties the journal. With `apply: false` it only counts (for
    /// `parley check`).
    @discardableResult
    public static func recover(layout: DataLayout, logger: Logger? = nil, apply: Bool = true) throws -> Report {
        var report = Report()
        guard let data = FileManager.default.contents(atPath: layout.journal), !data.isEmpty else { return report }
        let bytes = [UInt8](data)
        var records: [Record] = []
        var start = 0
        var lineNumber = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            lineNumber += 1
            if let r = parse(bytes[start..<i]) {
                records.append(r)
            } else if i != bytes.count - 1 {
                report.problems.append("journal line \(lineNumber) is not a valid record")
            }
            // A bad last line, or bytes after the last newline, are a torn tail: never acknowledged.
            start = i + 1
        }
        var order: [String] = []
        var byTicket: [String: [Record]] = [:]
        for r in records {
            if byTicket[r.ticket] == nil { order.append(r.ticket) }
            byTicket[r.ticket, default: []].append(r)
        }
        for ticket in order {
            guard let path = layout.ticketPath(ticket), let records = byTicket[ticket], let first = records.first else { continue }
            // The journal holds this ticket's records from seq `first` on; they must be consecutive.
            var tail: [UInt8] = []
            var lines: [ArraySlice<UInt8>] = []
            for r in records {
                guard r.event.seq == first.event.seq + lines.count else {
                    report.problems.append("journal: ticket \(ticket) jumps to seq \(r.event.seq) after \(first.event.seq + lines.count - 1)")
                    break
                }
                tail += r.line; tail.append(0x0A)
                lines.append(r.line)
            }
            let fileBytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
            // The log must hold seqs 1…first-1 intact (they were synced at an earlier checkpoint).
            guard let prefixEnd = prefixEnd(fileBytes, before: first.event.seq) else {
                report.problems.append("journal: the log of ticket \(ticket) is damaged before seq \(first.event.seq); left as is")
                continue
            }
            let current = Array(fileBytes[prefixEnd...])
            // How many journaled records the log already has, byte for byte.
            var present = 0
            var offset = 0
            for l in lines {
                let end = offset + l.count
                guard end < current.count, current[offset..<end].elementsEqual(l), current[end] == 0x0A else { break }
                present += 1
                offset = end + 1
            }
            if present < lines.count { report.replayed += lines.count - present; report.tickets.append(ticket) }
            guard apply else { continue }
            // Rewrite the whole journaled tail, even when it reads back complete: after a failed
            // sync the page cache can show bytes that never reached the disk, and rewriting makes
            // them dirty again so this sync really writes them.
            if !tail.starts(with: current) {
                // Bytes the log had beyond what was acknowledged (a torn line, or lines of a batch
                // whose journal sync failed): keep them for inspection.
                try Durable.makeDirectory(layout.quarantine)
                let stamp = Timestamp.format(Date()).replacingOccurrences(of: ":", with: "-")
                try Durable.writeNew(path: "\(layout.quarantine)/\(ticket).jsonl.\(stamp).replaced", bytes: current)
            }
            try Durable.makeDirectory((path as NSString).deletingLastPathComponent)
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ParleyError.io("cannot open \(path): \(errnoString())") }
            defer { close(fd) }
            guard ftruncate(fd, off_t(prefixEnd)) == 0, lseek(fd, off_t(prefixEnd), SEEK_SET) >= 0 else {
                throw ParleyError.io("cannot rewrite \(path): \(errnoString())")
            }
            try Durable.writeAll(fd: fd, bytes: tail, path: path)
            guard fdatasync(fd) == 0 else { throw ParleyError.io("cannot sync \(path): \(errnoString())") }
            try Durable.syncDirectory((path as NSString).deletingLastPathComponent)
            if present < lines.count {
                logger?.warning("replayed journal records into a ticket log", metadata: ["ticket": "\(ticket)", "records": "\(lines.count - present)"])
            }
        }
        if apply {
            for p in report.problems { logger?.error("journal problem", metadata: ["problem": "\(p)"]) }
            if !report.problems.isEmpty {
                // Keep what could not be replayed before emptying the journal.
                try Durable.makeDirectory(layout.quarantine)
                let stamp = Timestamp.format(Date()).replacingOccurrences(of: ":", with: "-")
                try Durable.writeNew(path: "\(layout.quarantine)/journal.\(stamp).jsonl", bytes: bytes)
            }
            // Every record is now in its log (synced): the journal can be emptied.
            let fd = open(layout.journal, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ParleyError.io("cannot open \(layout.journal): \(errnoString())") }
            defer { close(fd) }
            guard ftruncate(fd, 0) == 0, fdatasync(fd) == 0 else {
                throw ParleyError.io("cannot empty \(layout.journal): \(errnoString())")
            }
        }
        return report
    }
}
