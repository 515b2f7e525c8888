import CArchive
import Foundation

/// `parley export`, `erase` and `purge`: a visitor's data out, a visitor's data gone, old
/// tickets gone. Erase and purge change the folder: the caller holds its lock (no server runs).
public enum DataTools {
    /// A ticket as found on disk.
    public struct Found: Sendable {
        public var path: String
        public var summary: TicketSummary
        public var events: [TicketEvent]
        /// When the ticket was last closed (nil if it is not closed).
        public var closedAt: Date?
    }

    /// Every ticket log, folded (a log that cannot be read is reported by `parley check`, and
    /// skipped here).
    public static func scan(_ layout: DataLayout) throws -> [Found] {
        try TicketStore.logPaths(layout: layout).compactMap { path in
            guard let contents = try? TicketLog.read(path: path), !contents.events.isEmpty else { return nil }
            let id = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            var s = TicketSummary(id: id)
            for e in contents.events { s.apply(e) }
            return Found(path: path, summary: s, events: contents.events, closedAt: closedAt(contents.events))
        }
    }

    /// When a ticket was last closed, if its last status change closed it.
    public static func closedAt(_ events: [TicketEvent]) -> Date? {
        events.last { $0.type == EventType.status }.flatMap { $0.status == TicketStatus.closed.rawValue ? Timestamp.parse($0.at) : nil }
    }

    public static func normalized(_ email: String) throws -> String {
        let e = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard FormValidator.isEmail(e) else { throw ParleyError.badRequest("not an email address: \(email)") }
        return e
    }

    // MARK: export

    public struct ExportReport: Sendable { public var tickets: Int; public var attachments: Int; public var file: String }

    /// Every ticket (all its events, as JSON lines; the token hash left out) and attachment of the
    /// visitor with `email`, in a zip or tar.gz (by the file name). Read-only: runs beside a server.
    public static func export(layout: DataLayout, email: String, to file: String, now: Date = Date()) throws -> ExportReport {
        let email = try normalized(email)
        let f = file.lowercased()
        let zip = f.hasSuffix(".zip")
        guard zip || f.hasSuffix(".tar.gz") || f.hasSuffix(".tgz") else { throw ParleyError.badRequest("name the export .zip or .tar.gz: \(file)") }
        let found = try scan(layout).filter { $0.summary.visitorEmail == email }
        guard !found.isEmpty else { throw ParleyError.badRequest("no tickets for \(email)") }
        let tmp = "\(file).\(getpid()).partial"
        let w = try ArchiveWriter(path: tmp, format: zip ? .zip : .tarGzip)
        var attachments = 0
        do {
            var index: [String] = []
            for t in found {
                var bytes: [UInt8] = []
                for e in t.events { bytes += e.json(forLog: false); bytes.append(0x0A) }
                try w.add(path: "tickets/\(t.summary.id).jsonl", bytes: bytes, mode: 0o644, mtime: now)
                index.append("\(t.summary.id)  opened \(t.summary.createdAt)  status \(t.summary.status.rawValue)  \(t.events.count) events")
                for e in t.events where e.type == EventType.attachment {
                    guard let a = e.attachment, AttachmentID.ticket(of: a.id) == t.summary.id else { continue }
                    let name = "attachments/\(t.summary.id)/\(a.id)-\(FileNames.display(a.name).replacingOccurrences(of: "/", with: "_"))"
                    if try w.addFile(path: name, source: "\(layout.attachments)/\(t.summary.id)/\(a.id)", mtime: now) != nil { attachments += 1 }
                }
            }
            let readme = """
            Parley export for \(email), made \(Timestamp.format(now)).
            tickets/<id>.jsonl: every event of each conversation, one JSON object per line (messages, \
            notes, status changes…). attachments/<ticket>/<id>-<name>: the files sent.

            \(index.joined(separator: "\n"))

            """
            try w.add(path: "README.txt", bytes: Array(readme.utf8), mode: 0o644, mtime: now)
            try w.close()
            guard rename(tmp, file) == 0 else { throw ParleyError.io("cannot rename \(tmp) to \(file): \(errnoString())") }
        } catch {
            w.abandon(); unlink(tmp); throw error
        }
        return ExportReport(tickets: found.count, attachments: attachments, file: file)
    }

    // MARK: erase and purge

    public struct RemoveReport: Sendable {
        public var tickets: [String]
        public var files: Int
        /// Other logs that mentioned the email and were rewritten without it (erase only).
        public var redacted: Int
    }

    /// Right to be forgotten: the visitor's tickets, attachments, unfinished uploads, quarantined
    /// tails and contact entry are removed; other logs that mention the email get it replaced
    /// (rewritten to a temp file and renamed, never in place). An `erased` line without any
    /// personal data goes to the audit log. The caller holds the folder's lock.
    public static func erase(layout: DataLayout, email: String, now: Date = Date()) throws -> RemoveReport {
        let email = try normalized(email)
        // Acknowledged records still only in the journal go into the logs first, and the
        // journal is emptied: afterwards nothing outside the logs holds the visitor's messages.
        try Journal.recover(layout: layout)
        let all = try scan(layout)
        let mine = all.filter { $0.summary.visitorEmail == email }
        var report = try remove(mine.map(\.summary.id), layout: layout)
        // Mentions elsewhere (an agent's note, another ticket's message).
        let needle = Array(email.utf8)
        for path in try TicketStore.logPaths(layout: layout) {
            guard let bytes = FileManager.default.contents(atPath: path).map([UInt8].init),
                  let replaced = replacing(needle, in: bytes, with: Array("[erased]".utf8)) else { continue }
            try Durable.replace(path: path, bytes: replaced, mode: 0o644)
            report.redacted += 1
        }
        // Quarantined bytes (torn tails, a journal copy) may quote the visitor too.
        for f in Backup.files(in: layout.quarantine) {
            guard let bytes = FileManager.default.contents(atPath: f).map([UInt8].init),
                  replacing(needle, in: bytes, with: []) != nil else { continue }
            try unlinkOrThrow(f)
            report.files += 1
        }
        // The summary cache holds names and emails (`remove` already dropped it if tickets went).
        if report.redacted > 0 { try unlinkOrThrow(layout.summaryCache) }
        try dropContact(email, layout: layout)
        try AuditLog(layout: layout).record(.cli, "erased", detail: ["tickets": "\(report.tickets.count)", "files": "\(report.files)",
                                                                      "redacted": "\(report.redacted)"], now: now)
        return report
    }

    /// Retention: closed tickets last closed before `date` (and their files) are removed; with
    /// `dryRun`, only listed.
    public static func purge(layout: DataLayout, closedBefore date: Date, dryRun: Bool, now: Date = Date()) throws -> RemoveReport {
        if !dryRun { try Journal.recover(layout: layout) }
        let old = try scan(layout).filter { t in t.closedAt.map { $0 < date } ?? false }
        let ids = old.map(\.summary.id)
        if dryRun { return RemoveReport(tickets: ids, files: 0, redacted: 0) }
        let report = try remove(ids, layout: layout)
        try AuditLog(layout: layout).record(.cli, "purged", detail: ["tickets": "\(ids.count)", "closedBefore": Timestamp.format(date)], now: now)
        return report
    }

    /// Deletes tickets' logs, attachments, uploads and quarantined tails, and the summary cache
    /// (it holds their names and emails; the server rebuilds it).
    public static func remove(_ ids: [String], layout: DataLayout) throws -> RemoveReport {
        let fm = FileManager.default
        var files = 0
        let set = Set(ids)
        func unlinkFile(_ path: String) throws {
            if unlink(path) == 0 { files += 1 } else if errno != ENOENT { throw ParleyError.io("cannot remove \(path): \(errnoString())") }
        }
        var dirs = Set<String>()
        for id in ids {
            guard let log = layout.ticketPath(id) else { continue }
            try unlinkFile(log)
            dirs.insert((log as NSString).deletingLastPathComponent)
            let adir = "\(layout.attachments)/\(id)"
            for f in (try? fm.contentsOfDirectory(atPath: adir)) ?? [] { try unlinkFile("\(adir)/\(f)") }
            if rmdir(adir) == 0 { dirs.insert(layout.attachments) }
        }
        // Unfinished uploads of those tickets: the record names the ticket.
        for f in (try? fm.contentsOfDirectory(atPath: layout.uploads)) ?? [] where f.hasSuffix(".json") {
            let meta = "\(layout.uploads)/\(f)"
            guard let data = fm.contents(atPath: meta), let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let t = obj["ticket"] as? String, set.contains(t) else { continue }
            try unlinkFile("\(layout.uploads)/\(String(f.dropLast(5)))")
            try unlinkFile(meta)
            dirs.insert(layout.uploads)
        }
        for f in (try? fm.contentsOfDirectory(atPath: layout.quarantine)) ?? [] where set.contains(String(f.prefix(19))) {
            try unlinkFile("\(layout.quarantine)/\(f)")
            dirs.insert(layout.quarantine)
        }
        if !ids.isEmpty { try unlinkFile(layout.summaryCache) }
        for d in dirs { try Durable.syncDirectory(d) }
        return RemoveReport(tickets: ids, files: files, redacted: 0)
    }

    /// How many ticket logs mention `email` (lower case) anywhere.
    public static func mentions(of email: String, layout: DataLayout) throws -> Int {
        let needle = Array(email.utf8)
        return try TicketStore.logPaths(layout: layout).filter { path in
            guard let bytes = FileManager.default.contents(atPath: path).map([UInt8].init) else { return false }
            return replacing(needle, in: bytes, with: []) != nil
        }.count
    }

    static func unlinkOrThrow(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw ParleyError.io("cannot remove \(path): \(errnoString())") }
    }

    static func dropContact(_ email: String, layout: DataLayout) throws {
        guard let data = FileManager.default.contents(atPath: layout.contactsFile) else { return }
        let list = try JSONDecoder().decode([Contact].self, from: data)
        let kept = list.filter { $0.email.lowercased() != email }
        guard kept.count != list.count else { return }
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Durable.replace(path: layout.contactsFile, bytes: Array(try enc.encode(kept)) + [0x0A], mode: 0o600)
    }

    /// `bytes` with every ASCII-case-insensitive occurrence of the address `needle` (lower case)
    /// replaced, or nil when there is none. Only whole addresses: `a@x.com` inside `ma@x.com` or
    /// `a@x.com.au` is someone else's.
    static func replacing(_ needle: [UInt8], in bytes: [UInt8], with replacement: [UInt8]) -> [UInt8]? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        func lower(_ b: UInt8) -> UInt8 { (65...90).contains(b) ? b | 0x20 : b }
        // Characters that continue an address on either side (letters, digits, . _ % + - @).
        func partOfAddress(_ b: UInt8) -> Bool {
            (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b >= 0x80 || [46, 95, 37, 43, 45, 64].contains(b)
        }
        var out: [UInt8] = []
        var i = 0, found = false
        let last = bytes.count - needle.count
        while i < bytes.count {
            if i <= last, lower(bytes[i]) == needle[0], (0..<needle.count).allSatisfy({ lower(bytes[i + $0]) == needle[$0] }),
               i == 0 || !partOfAddress(bytes[i - 1]),
               i + needle.count == bytes.count || !partOfAddress(bytes[i + needle.count]) || (bytes[i + needle.count] == 46 &&
                   (i + needle.count + 1 == bytes.count || !partOfAddress(bytes[i + needle.count + 1]))) {
                out += replacement; i += needle.count; found = true
            } else {
                out.append(bytes[i]); i += 1
            }
        }
        return found ? out : nil
    }
}
