import CArchive
import Crypto
import Foundation

/// What a path inside the data folder is, for archives coming in: part of the data, something a
/// restore leaves out (rebuilt or transient), or foreign (refused).
public enum DataPath {
    public enum Kind: Equatable, Sendable { case data, skip }

    /// `relative` is a path under the data root with `/` separators (no leading `./`).
    public static func classify(_ relative: String) -> Kind? {
        let p = relative.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !p.isEmpty, !p.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
        func code(_ s: String, _ ext: String) -> Bool { s.hasSuffix(ext) && Widget.isValidID(String(s.dropLast(ext.count))) }
        // What a live folder can hold besides data: a replacement's temp file (`.name.pid.n.tmp`,
        // caught by a plain tar mid-write) and a mount point's lost+found.
        if p.last?.hasPrefix(".") == true || p[0] == "lost+found" { return .skip }
        switch (p.count, p[0]) {
        case (1, "secret.key"), (1, "contacts.json"), (1, "journal.jsonl"), (1, Backup.manifestName): return .data
        case (1, "summaries.cache.json"), (1, "README.md"): return .skip
        case (_, "uploads"), (_, "quarantine"): return .skip
        case (2, "config"): return ["agents.json", "teams.json", "rules.json", "inbox.json", "audit.jsonl"].contains(p[1]) ? .data : nil
        case (3, "config"):
            switch p[1] {
            case "widgets", "drafts": return code(p[2], ".json") ? .data : nil
            case "history": return code(p[2], ".jsonl") ? .data : nil
            default: return nil
            }
        case (3, "tickets"):
            guard p[2].hasSuffix(".jsonl") else { return nil }
            let id = String(p[2].dropLast(6))
            guard TicketID.isValid(id), let path = DataLayout(root: "").ticketPath(id), path == "/tickets/\(p[1])/\(p[2])" else { return nil }
            return .data
        case (3, "attachments"):
            return TicketID.isValid(p[1]) && AttachmentID.ticket(of: p[2]) == p[1] ? .data : nil
        default: return nil
        }
    }

    /// Folders of the layout an archive may list as entries of their own.
    public static func isFolder(_ relative: String) -> Bool {
        let p = relative.split(separator: "/").map(String.init)
        if p.isEmpty { return true }
        switch p[0] {
        case "config": return p.count == 1 || (p.count == 2 && ["widgets", "drafts", "history"].contains(p[1]))
        case "tickets": return p.count == 1 || (p.count == 2 && p[1].count == 7)
        case "attachments": return p.count == 1 || (p.count == 2 && TicketID.isValid(p[1]))
        case "uploads", "quarantine", "lost+found": return true
        default: return false
        }
    }
}

/// One file in a backup's manifest.
public struct ManifestEntry: Codable, Sendable, Equatable {
    public var path: String
    public var size: Int
    public var sha256: String
}

public struct BackupManifest: Codable, Sendable {
    public var format = "parley-backup"
    public var version = 1
    public var createdAt: String
    public var files: [ManifestEntry]
}

/// `parley backup`: a consistent snapshot of a data folder, taken while the server runs.
///
/// Each ticket log is archived up to the length it had when the backup started (cut back to its
/// last complete line): logs are append-only and the server writes every record to its log
/// before acknowledging it, so that is every message acknowledged before the start, and nothing
/// half-written. Config files are replaced atomically, so each is read whole, old or new.
/// Attachments named by the archived events are included; unfinished uploads, the journal
/// (everything it holds is in the logs already), the summary cache and quarantine are not.
/// A manifest lists every file with its length and SHA-256. Entries sit under `data/`, so
/// `tar xzf` gives a `data/` folder, like a plain `tar czf backup.tgz data/`.
public enum Backup {
    public static let manifestName = "backup-manifest.json"
    public static let prefix = "data/"

    public struct Report: Sendable {
        public var files: Int
        public var bytes: Int64
        public var seconds: Double
        /// Attachments the events name but the folder lacks (left out, named here).
        public var missingAttachments: [String]
    }

    public enum Compression: Sendable { case gzip, zstd }

    /// The compression a file name asks for: `.tar.gz`/`.tgz` or `.tar.zst`.
    public static func compression(for file: String) throws -> Compression {
        let f = file.lowercased()
        if f.hasSuffix(".tar.gz") || f.hasSuffix(".tgz") { return .gzip }
        if f.hasSuffix(".tar.zst") || f.hasSuffix(".tzst") { return .zstd }
        throw ParleyError.badRequest("name the backup .tar.gz (or .tar.zst): \(file)")
    }

    public static func create(layout: DataLayout, to file: String, now: Date = Date()) throws -> Report {
        let started = Date()
        let compression = try compression(for: file)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: layout.root, isDirectory: &isDir), isDir.boolValue else {
            throw ParleyError.badRequest("no data folder at \(layout.root)")
        }
        // 1. The snapshot point: every log's length, before anything is read.
        let logs = try TicketStore.logPaths(layout: layout)
        var lengths: [String: Int64] = [:]
        for path in logs {
            var st = stat()
            if stat(path, &st) == 0 { lengths[path] = Int64(st.st_size) }
        }
        // Append-only config files: their length now, too.
        var appendOnly: [String: Int64] = [:]
        for path in [layout.auditFile] + Self.files(in: layout.history) {
            var st = stat()
            if stat(path, &st) == 0 { appendOnly[path] = Int64(st.st_size) }
        }

        let tmp = "\(file).\(getpid()).partial"
        let writer = try ArchiveWriter(path: tmp, compression: compression)
        var manifest: [ManifestEntry] = []
        var total: Int64 = 0
        var missing: [String] = []
        do {
            func add(_ relative: String, _ bytes: [UInt8], mode: mode_t) throws {
                try writer.add(path: prefix + relative, bytes: bytes, mode: mode, mtime: now)
                manifest.append(ManifestEntry(path: relative, size: bytes.count, sha256: Tokens.hex(SHA256.hash(data: bytes))))
                total += Int64(bytes.count)
            }
            // 2. Config, secret, contacts: small files read whole.
            var small = [layout.secretKey, layout.contactsFile, layout.agentsFile, layout.teamsFile, layout.rulesFile, layout.inboxFile]
            small += Self.files(in: layout.widgets) + Self.files(in: layout.drafts)
            for path in small {
                guard let bytes = try Self.read(path, upTo: nil) else { continue }
                try add(Self.relative(path, layout), bytes, mode: Self.mode(path))
            }
            for (path, n) in appendOnly.sorted(by: { $0.key < $1.key }) {
                guard let bytes = try Self.read(path, upTo: n) else { continue }
                try add(Self.relative(path, layout), Self.wholeLines(bytes), mode: 0o600)
            }
            // 3. Logs up to their snapshot length; then the attachments they name.
            for path in logs {
                guard let n = lengths[path], let raw = try Self.read(path, upTo: n) else { continue }
                let bytes = Self.wholeLines(raw)
                try add(Self.relative(path, layout), bytes, mode: 0o644)
                let ticket = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                for id in Self.attachmentIDs(in: bytes) {
                    let relative = "attachments/\(ticket)/\(id)"
                    // Streamed: an attachment may be large (memory stays flat).
                    guard let (size, sha) = try writer.addFile(path: prefix + relative, source: "\(layout.attachments)/\(ticket)/\(id)", mtime: now) else {
                        missing.append("\(ticket)/\(id)"); continue
                    }
                    manifest.append(ManifestEntry(path: relative, size: size, sha256: sha))
                    total += Int64(size)
                }
            }
            // 4. The manifest, last (a reader verifies the files against it).
            let m = BackupManifest(createdAt: Timestamp.format(now), files: manifest)
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try writer.add(path: prefix + manifestName, bytes: Array(try enc.encode(m)) + [0x0A], mode: 0o644, mtime: now)
            try writer.close()  // synced: a backup that exists under its name is whole
            guard rename(tmp, file) == 0 else { throw ParleyError.io("cannot rename \(tmp) to \(file): \(errnoString())") }
        } catch {
            writer.abandon()
            unlink(tmp)
            throw error
        }
        return Report(files: manifest.count + 1, bytes: total, seconds: Date().timeIntervalSince(started), missingAttachments: missing)
    }

    static func files(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted().map { "\(dir)/\($0)" }
    }

    static func relative(_ path: String, _ layout: DataLayout) -> String { String(path.dropFirst(layout.root.count + 1)) }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0o600
    }

    /// The file's bytes (the first `upTo` of them), or nil when it does not exist (or is not a
    /// regular file: nothing else is ever archived).
    static func read(_ path: String, upTo limit: Int64?) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT || errno == ELOOP { return nil }
            throw ParleyError.io("cannot read \(path): \(errnoString())")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let want = Int(min(limit ?? Int64(st.st_size), Int64(st.st_size)))
        var out = [UInt8](repeating: 0, count: want)
        var off = 0
        while off < want {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + off, want - off, off_t(off)) }
            if n < 0 { if errno == EINTR { continue }; throw ParleyError.io("cannot read \(path): \(errnoString())") }
            if n == 0 { break }
            off += n
        }
        return Array(out[0..<off])
    }

    /// Up to and including the last `\n`: a line being appended at the snapshot is left out.
    static func wholeLines(_ bytes: [UInt8]) -> [UInt8] {
        guard let last = bytes.lastIndex(of: 0x0A) else { return [] }
        return Array(bytes[...last])
    }

    /// The attachment ids `attachment` events name.
    static func attachmentIDs(in log: [UInt8]) -> [String] {
        var ids: [String] = []
        let decoder = JSONDecoder()
        for line in log.split(separator: 0x0A) where line.count < 1 << 20 {
            // Cheap test first: most lines are not attachments.
            guard line.count > 20, String(decoding: line.prefix(200), as: UTF8.self).contains("\"attachment\""),
                  let e = try? TicketEvent.parse(line: line, decoder: decoder), e.type == EventType.attachment, let a = e.attachment,
                  AttachmentID.ticket(of: a.id) != nil else { continue }
            ids.append(a.id)
        }
        return ids
    }
}

/// A tar archive being written through libarchive (gzip or zstd).
final class ArchiveWriter {
    private var a: OpaquePointer?
    private let path: String
    private var fd: Int32 = -1

    enum Format { case tarGzip, tarZstd, zip }

    convenience init(path: String, compression: Backup.Compression) throws {
        try self.init(path: path, format: compression == .gzip ? .tarGzip : .tarZstd)
    }

    init(path: String, format: Format) throws {
        self.path = path
        // 0600: a backup holds the server secret and every conversation; an export, personal data.
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ParleyError.io("cannot create \(path): \(errnoString())") }
        guard let a = archive_write_new() else { Foundation.close(fd); fd = -1; throw ParleyError.io("libarchive: cannot start an archive") }
        self.a = a
        let ok: Bool
        switch format {
        case .tarGzip: ok = archive_write_add_filter_gzip(a) == ARCHIVE_OK && archive_write_set_format_pax_restricted(a) == ARCHIVE_OK
        case .tarZstd: ok = archive_write_add_filter_zstd(a) == ARCHIVE_OK && archive_write_set_format_pax_restricted(a) == ARCHIVE_OK
        case .zip: ok = archive_write_set_format_zip(a) == ARCHIVE_OK
        }
        guard ok, archive_write_open_fd(a, fd) == ARCHIVE_OK else {
            let m = Self.message(a)
            archive_write_free(a); self.a = nil
            Foundation.close(fd); fd = -1
            throw ParleyError.io("cannot write \(path): \(m)")
        }
    }

    static func message(_ a: OpaquePointer?) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "libarchive error"
    }

    func add(path name: String, bytes: [UInt8], mode: mode_t, mtime: Date) throws {
        guard let a, let entry = archive_entry_new() else { throw ParleyError.io("libarchive: closed") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
        archive_entry_set_perm(entry, mode & 0o777)
        archive_entry_set_size(entry, la_int64_t(bytes.count))
        archive_entry_set_mtime(entry, time_t(mtime.timeIntervalSince1970), 0)
        guard archive_write_header(a, entry) == ARCHIVE_OK else { throw ParleyError.io("cannot write \(path): \(Self.message(a))") }
        if !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            guard n == bytes.count else { throw ParleyError.io("cannot write \(path): \(Self.message(a))") }
        }
    }

    /// Adds a regular file, read in chunks; its size and SHA-256, or nil if it does not exist.
    func addFile(path name: String, source: String, mtime: Date) throws -> (Int, String)? {
        guard let a, let entry = archive_entry_new() else { throw ParleyError.io("libarchive: closed") }
        defer { archive_entry_free(entry) }
        let fd = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT || errno == ELOOP { return nil }
            throw ParleyError.io("cannot read \(source): \(errnoString())")
        }
        defer { Foundation.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(st.st_size)  // immutable once finished
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, 0o100000)
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_size(entry, la_int64_t(size))
        archive_entry_set_mtime(entry, time_t(mtime.timeIntervalSince1970), 0)
        guard archive_write_header(a, entry) == ARCHIVE_OK else { throw ParleyError.io("cannot write \(path): \(Self.message(a))") }
        var hasher = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var done = 0
        while done < size {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, min($0.count, size - done), off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw ParleyError.io("cannot read \(source): \(errnoString())") }
            guard n > 0 else { throw ParleyError.io("\(source) shrank while being archived") }
            let w = buf.withUnsafeBytes { archive_write_data(a, $0.baseAddress, n) }
            guard w == n else { throw ParleyError.io("cannot write \(path): \(Self.message(a))") }
            hasher.update(data: buf[0..<n])
            done += n
        }
        return (size, Tokens.hex(hasher.finalize()))
    }

    /// Finishes the archive and syncs the file.
    func close() throws {
        guard let a else { return }
        defer { archive_write_free(a); self.a = nil; if fd >= 0 { Foundation.close(fd); fd = -1 } }
        guard archive_write_close(a) == ARCHIVE_OK else { throw ParleyError.io("cannot finish \(path): \(Self.message(a))") }
        guard fsync(fd) == 0 else { throw ParleyError.io("cannot sync \(path): \(errnoString())") }
    }

    func abandon() {
        if let a { archive_write_free(a); self.a = nil }
        if fd >= 0 { Foundation.close(fd); fd = -1 }
    }

    deinit { abandon() }
}
