import Foundation
import Synchronization

/// Which content types a widget accepts as attachments. The type is the one libmagic detects
/// from the bytes; the client's name and declared type never count.
public enum MimePolicy {
    /// Raster images, PDF, plain text, CSV, office documents and zip.
    public static let defaultAllowed = [
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/avif",
        "image/heic", "image/heif",
        "application/pdf", "text/plain", "text/csv",
        "application/vnd.openxmlformats-officedocument.*", "application/vnd.oasis.opendocument.*",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/zip",
    ]

    /// Types a browser can turn into active content (pages, scripts, programs). A wildcard entry
    /// never matches them: only an entry naming the exact type lets one in.
    static let active: Set<String> = [
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
        "text/javascript", "application/javascript", "application/x-executable",
        "application/x-pie-executable", "application/x-sharedlib", "application/x-mach-binary",
        "application/x-dosexec", "application/x-msdownload", "application/vnd.microsoft.portable-executable",
        "application/x-shellscript", "application/java-archive", "application/x-java-applet",
    ]

    /// Images a browser may show inline: decoded as pixels, no script, no external references.
    public static let rasterImages: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"]

    /// Whether `type` is accepted by the allow-list `patterns` (`image/png`, `image/*`, `application/vnd.oasis.*`).
    public static func allows(_ type: String, patterns: [String]) -> Bool {
        let t = type.lowercased()
        let risky = active.contains(t) || t.hasPrefix("text/x-")  // text/x-shellscript, text/x-python…
        for raw in patterns {
            let p = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if p == t { return true }
            if p.hasSuffix("*"), !risky, t.hasPrefix(p.dropLast()) { return true }
        }
        return false
    }

    public static func isRasterImage(_ type: String) -> Bool { rasterImages.contains(type.lowercased()) }
}

/// Display names of attachments: what the client called the file, made harmless. Never used on disk.
public enum FileNames {
    public static let maxLength = 200

    /// The last path component, without control or bidi-override characters, trimmed, at most
    /// `maxLength` characters (keeping the extension); "file" if nothing is left.
    public static func display(_ raw: String?) -> String {
        var s = raw ?? ""
        if let cut = s.lastIndex(where: { $0 == "/" || $0 == "\\" }) { s = String(s[s.index(after: cut)...]) }
        s = String(String.UnicodeScalarView(s.unicodeScalars.filter { u in
            !(u.properties.generalCategory == .control || u.properties.generalCategory == .format
              || u.properties.generalCategory == .lineSeparator || u.properties.generalCategory == .paragraphSeparator)
        }))
        s = s.trimmingCharacters(in: .whitespaces)
        while s.hasPrefix(".") { s.removeFirst() }  // no hidden files once saved
        if s.count > maxLength {
            let ext = (s as NSString).pathExtension
            let keep = ext.isEmpty || ext.count > 16 ? "" : "." + ext
            s = String(s.prefix(maxLength - keep.count)) + keep
        }
        return s.isEmpty ? "file" : s
    }

    /// "7.3 MB", "512 KB", "12 bytes" (powers of 1024, one decimal when it matters).
    public static func size(_ bytes: Int) -> String {
        func fmt(_ v: Double, _ unit: String) -> String {
            let r = (v * 10).rounded() / 10
            return (r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)) + " " + unit
        }
        if bytes >= 1024 * 1024 { return fmt(Double(bytes) / 1048576, "MB") }
        if bytes >= 1024 { return fmt(Double(bytes) / 1024, "KB") }
        return bytes == 1 ? "1 byte" : "\(bytes) bytes"
    }
}

/// Attachment (and upload) ids: `<ticket id>_<16 random base32 characters>`. The ticket part
/// tells a download which ticket to authorise against; the random part makes ids unguessable.
public enum AttachmentID {
    public static func make(ticket: String) -> String {
        var g = SystemRandomNumberGenerator()
        let rand = (0..<16).map { _ in TicketID.alphabet[Int(g.next() % UInt64(TicketID.alphabet.count))] }
        return ticket + "_" + String(decoding: rand, as: UTF8.self)
    }

    /// The ticket of a well-formed id, else nil.
    public static func ticket(of id: String) -> String? {
        let u = Array(id.utf8)
        guard u.count == 36, u[19] == UInt8(ascii: "_") else { return nil }
        let ticket = String(decoding: u[0..<19], as: UTF8.self)
        guard TicketID.isValid(ticket), u[20...].allSatisfy({ TicketID.alphabet.contains($0) }) else { return nil }
        return ticket
    }
}

/// An upload as saved next to its bytes in `uploads/<id>.json`.
public struct UploadRecord: Codable, Sendable, Equatable {
    public var id: String
    public var ticket: String
    public var widget: String
    /// Who may see, resume and delete it: `visitor`, or `agent:<agent id>`.
    public var owner: String
    /// The actor of the `attachment` event.
    public var by: EventActor
    public var name: String
    public var length: Int
    public var created: String
    /// Set (and synced) just before the bytes move to `attachments/`, so start-up can finish the job.
    public var finishing: AttachmentInfo?
    /// Set once the `attachment` event is in the ticket's log; kept until expiry so a client that
    /// lost the last response learns the upload is done.
    public var attachment: AttachmentInfo?
    public var doneAt: String?
}

public enum UploadError: Error, Equatable {
    case notFound
    /// More than this many unfinished uploads by one sender on one ticket.
    case tooMany(Int)
    /// Another request is writing this upload.
    case busy
    /// The upload is past its last byte; it can no longer be canceled.
    case finishing
}

/// Unfinished uploads (`uploads/<id>` + `uploads/<id>.json`) and the move of finished ones into
/// `attachments/<ticket>/<id>`. File work only: the server streams bytes, decides types and
/// appends the events. The offset of an upload is the size of its file, so nothing is rewritten
/// per chunk; an upload expires `ttl` after its last byte arrived.
public final class UploadStore: Sendable {
    public let layout: DataLayout
    public let ttl: TimeInterval

    struct Entry {
        var record: UploadRecord
        var busy = false
        var canceled = false
        /// Past its last byte: moving, or moved and waiting for its event (`record.finishing`).
        var finishing: Bool { record.finishing != nil && record.attachment == nil }
    }
    private let entries = Mutex<[String: Entry]>([:])

    public init(layout: DataLayout, ttl: TimeInterval = 24 * 3600) {
        self.layout = layout
        self.ttl = ttl
    }

    public func dataPath(_ id: String) -> String { "\(layout.uploads)/\(id)" }
    public func metaPath(_ id: String) -> String { "\(layout.uploads)/\(id).json" }
    public func attachmentPath(ticket: String, id: String) -> String { "\(layout.attachments)/\(ticket)/\(id)" }

    public struct LoadReport: Sendable {
        /// Uploads past their last byte whose move or event may be missing (see `finishing()`).
        public var pending: [UploadRecord] = []
        public var kept = 0
        public var removed = 0
    }

    /// Reads the upload records and removes expired uploads, orphan files and leftovers of
    /// interrupted writes. Uploads interrupted while finishing are kept for the server to finish.
    public func load(now: Date = Date()) throws -> LoadReport {
        var report = LoadReport()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.uploads)) ?? []
        var loaded: [String: Entry] = [:]
        var metas = Set<String>()
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let id = String(name.dropLast(5))
            metas.insert(id)
            guard AttachmentID.ticket(of: id) != nil,
                  let data = FileManager.default.contents(atPath: metaPath(id)),
                  let rec = try? JSONDecoder().decode(UploadRecord.self, from: data), rec.id == id else {
                removeFiles(id); report.removed += 1; continue
            }
            if rec.attachment != nil {
                if expires(rec, now: now) <= now { removeFiles(id); report.removed += 1; continue }
            } else if rec.finishing != nil {
                let target = attachmentPath(ticket: rec.ticket, id: id)
                guard FileManager.default.fileExists(atPath: dataPath(id)) || FileManager.default.fileExists(atPath: target) else {
                    removeFiles(id); report.removed += 1; continue
                }
                report.pending.append(rec)
            } else if !FileManager.default.fileExists(atPath: dataPath(id)) || expires(rec, now: now) <= now {
                removeFiles(id); report.removed += 1; continue
            }
            loaded[id] = Entry(record: rec)
            report.kept += 1
        }
        // Bytes without a record (a crash between the two creates) and temp files of `Durable.replace`.
        for name in names where !name.hasSuffix(".json") || name.hasPrefix(".") {
            if name.hasPrefix(".") || !metas.contains(name) { unlink("\(layout.uploads)/\(name)"); report.removed += 1 }
        }
        entries.withLock { $0 = loaded }
        return report
    }

    public func record(_ id: String) -> UploadRecord? { entries.withLock { $0[id]?.record } }

    /// Bytes received so far (nil once the bytes moved or vanished).
    public func offset(_ id: String) -> Int? {
        var st = stat()
        guard stat(dataPath(id), &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    /// When the upload goes: `ttl` after its last byte (or after it finished).
    public func expires(_ rec: UploadRecord, now: Date = Date()) -> Date {
        if let done = rec.doneAt.flatMap(Timestamp.parse) { return done.addingTimeInterval(ttl) }
        var last = Timestamp.parse(rec.created) ?? now
        var st = stat()
        if stat(dataPath(rec.id), &st) == 0 {
            last = max(last, Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec)))
        }
        return last.addingTimeInterval(ttl)
    }

    /// Unfinished uploads of `owner` on `ticket`.
    public func unfinished(ticket: String, owner: String) -> Int {
        entries.withLock { Self.unfinished(in: $0, ticket: ticket, owner: owner) }
    }

    private static func unfinished(in e: [String: Entry], ticket: String, owner: String) -> Int {
        e.values.filter { $0.record.ticket == ticket && $0.record.owner == owner && $0.record.attachment == nil }.count
    }

    /// Records a new upload and creates its empty file. Refused when `owner` already has
    /// `maxUnfinished` unfinished uploads on the ticket.
    public func create(ticket: String, widget: String, owner: String, by: EventActor, name: String,
                       length: Int, maxUnfinished: Int, now: Date = Date()) throws -> UploadRecord {
        let rec = UploadRecord(id: AttachmentID.make(ticket: ticket), ticket: ticket, widget: widget, owner: owner,
                               by: by, name: FileNames.display(name), length: length, created: Timestamp.format(now))
        try entries.withLock { e in
            guard Self.unfinished(in: e, ticket: ticket, owner: owner) < maxUnfinished else { throw UploadError.tooMany(maxUnfinished) }
            var entry = Entry(record: rec)
            entry.busy = true  // until both files exist
            e[rec.id] = entry
        }
        do {
            try Durable.writeNew(path: metaPath(rec.id), bytes: try Self.encode(rec), mode: 0o600)
            try Durable.writeNew(path: dataPath(rec.id), bytes: [], mode: 0o600)
        } catch {
            removeFiles(rec.id)
            _ = entries.withLock { $0.removeValue(forKey: rec.id) }
            throw error
        }
        end(rec.id)
        return rec
    }

    /// Takes the upload for one writer. Throws `busy` if another request holds it.
    public func begin(_ id: String) throws -> UploadRecord {
        try entries.withLock { e in
            guard var entry = e[id], !entry.canceled else { throw UploadError.notFound }
            guard !entry.busy else { throw UploadError.busy }
            entry.busy = true
            e[id] = entry
            return entry.record
        }
    }

    public func end(_ id: String) {
        entries.withLock { e in e[id]?.busy = false }
    }

    /// Whether a DELETE arrived while a writer held the upload (the writer then stops).
    public func isCanceled(_ id: String) -> Bool { entries.withLock { $0[id]?.canceled ?? true } }

    /// Termination: the record and the bytes are gone when this returns (a writer still holding
    /// the file keeps writing into an unlinked file, then stops). Refused once the upload is
    /// past its last byte (finishing or done).
    public func cancel(_ id: String) throws {
        try entries.withLock { e in
            guard let entry = e[id] else { throw UploadError.notFound }
            guard !entry.finishing, entry.record.attachment == nil else { throw UploadError.finishing }
            e.removeValue(forKey: id)
        }
        removeFiles(id)
    }

    /// Drops an upload whose content was refused (called by its writer).
    public func discard(_ id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
        removeFiles(id)
    }

    /// Moves complete, synced bytes to `attachments/<ticket>/<id>`: the record first notes the
    /// move (synced), so an upload interrupted at any point can be finished later (again by
    /// this call: it is idempotent). Throws `notFound` if the upload was canceled meanwhile.
    public func moveToAttachments(_ id: String, info: AttachmentInfo) throws {
        let rec = try entries.withLock { e -> UploadRecord in
            guard var entry = e[id], !entry.canceled else { throw UploadError.notFound }
            if entry.record.finishing == nil { entry.record.finishing = info }
            e[id] = entry
            return entry.record
        }
        let target = attachmentPath(ticket: rec.ticket, id: id)
        guard FileManager.default.fileExists(atPath: dataPath(id)) else {
            guard FileManager.default.fileExists(atPath: target) else { throw ParleyError.io("upload \(id) lost its bytes") }
            return  // moved already
        }
        try Durable.replace(path: metaPath(id), bytes: try Self.encode(rec), mode: 0o600)
        try moveBytes(id, to: target, ticket: rec.ticket)
    }

    /// Uploads past their last byte whose event is not known to be logged, and that nobody is
    /// working on: the server retries them (start-up, sweeps).
    public func finishing() -> [UploadRecord] {
        entries.withLock { e in e.values.filter { $0.finishing && !$0.busy }.map(\.record) }
    }

    /// Notes that the `attachment` event is in the log.
    public func markDone(_ id: String, info: AttachmentInfo, now: Date = Date()) throws {
        guard var rec = entries.withLock({ e -> UploadRecord? in
            e[id]?.record.attachment = info
            e[id]?.record.doneAt = Timestamp.format(now)
            return e[id]?.record
        }) else { return }
        rec.attachment = info
        try Durable.replace(path: metaPath(id), bytes: try Self.encode(rec), mode: 0o600)
    }

    /// Removes expired uploads (unfinished ones, and the done-markers of finished ones). Uploads
    /// past their last byte but not yet logged are never swept: their bytes are the visitor's file.
    @discardableResult
    public func sweep(now: Date = Date()) -> Int {
        let candidates = entries.withLock { e in e.values.filter { !$0.busy && !$0.finishing }.map(\.record) }
        var removed = 0
        for rec in candidates where expires(rec, now: now) <= now {
            // Decided again under the lock (one stat): a PATCH may have landed since.
            let gone = entries.withLock { e -> Bool in
                guard let entry = e[rec.id], !entry.busy, !entry.finishing, expires(entry.record, now: now) <= now else { return false }
                e.removeValue(forKey: rec.id)
                return true
            }
            if gone { removeFiles(rec.id); removed += 1 }
        }
        return removed
    }

    /// Whether an upload is past its expiry (it answers as gone even before the sweep).
    public func isExpired(_ rec: UploadRecord, now: Date = Date()) -> Bool {
        rec.finishing == nil && expires(rec, now: now) <= now
    }

    private func moveBytes(_ id: String, to target: String, ticket: String) throws {
        let dir = "\(layout.attachments)/\(ticket)"
        try Durable.makeDirectory(dir)
        guard rename(dataPath(id), target) == 0 else {
            throw ParleyError.io("cannot move upload \(id) to \(target): \(errnoString())")
        }
        try Durable.syncDirectory(dir)
        try Durable.syncDirectory(layout.uploads)
    }

    private func removeFiles(_ id: String) {
        unlink(dataPath(id))
        unlink(metaPath(id))
    }

    static func encode(_ rec: UploadRecord) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return Array(try enc.encode(rec)) + [10]
    }
}
