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

    /// What recovery did (or, in a dry run, would do).
    public struct Report: Sendable {
        /// Records appended to logs (or missing from them, in a dry run).
        public var replayed = 0
        public var tickets: [String] = []
        /// Records that could not be replayed (a gap before them, an unreadable line).
        public var problems: [String] = []
    }

    /// Appends to each ticket log the journal records it is missing, syncs those logs, then
    /// empties the journal. With `apply: false` it only counts (for `parley check`).
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
            guard let path = layout.ticketPath(ticket) else { continue }
            var lastSeq = 0
            if FileManager.default.fileExists(atPath: path) {
                let contents = try TicketLog.read(path: path)
                if apply && !contents.tornTail.isEmpty {
                    try TicketLog.cutTornTail(path: path, contents: contents, quarantineDir: layout.quarantine)
                }
                lastSeq = contents.events.last?.seq ?? 0
            } else if apply {
                try Durable.makeDirectory((path as NSString).deletingLastPathComponent)
            }
            var missing: [UInt8] = []
            var count = 0
            for r in byTicket[ticket] ?? [] where r.event.seq > lastSeq {
                guard r.event.seq == lastSeq + 1 else {
                    report.problems.append("journal: ticket \(ticket) jumps from seq \(lastSeq) to \(r.event.seq)")
                    break
                }
                missing += r.line; missing.append(0x0A)
                lastSeq = r.event.seq
                count += 1
            }
            if count > 0 { report.replayed += count; report.tickets.append(ticket) }
            guard apply, count > 0 || FileManager.default.fileExists(atPath: path) else { continue }
            // Even a log that misses nothing is synced (with its folder) before the journal is
            // emptied: after a kill -9 its lines may be only in the page cache.
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ParleyError.io("cannot open \(path): \(errnoString())") }
            defer { close(fd) }
            if count > 0 { try Durable.writeAll(fd: fd, bytes: missing, path: path) }
            guard fdatasync(fd) == 0 else { throw ParleyError.io("cannot sync \(path): \(errnoString())") }
            try Durable.syncDirectory((path as NSString).deletingLastPathComponent)
            if count > 0 {
                logger?.warning("replayed journal records into a ticket log", metadata: ["ticket": "\(ticket)", "records": "\(count)"])
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
