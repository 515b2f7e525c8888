import CArchive
import Crypto
import Foundation

/// `parley restore`: a backup (ours, or a plain `tar czf` of a data folder) into a data folder.
///
/// Nothing is written where the data goes until the whole archive has been read and checked:
/// files are extracted into a new folder next to the target, every entry must be a regular file
/// (or a folder) at a path of the data layout (no absolute paths, no `..`, no links or devices),
/// and with a manifest every listed file must be there with its length and SHA-256. Only then is
/// the new folder renamed into place. A non-empty target is replaced only with `force`, and is
/// then kept aside (renamed), never deleted. A damaged archive changes nothing.
public enum Restore {
    public struct Report: Sendable {
        public var files: Int
        public var bytes: Int64
        /// Where the folder that was replaced went (with `force`).
        public var keptAside: String?
        /// Whether the archive had our manifest (a plain tar has none).
        public var verified: Bool
        /// Entries left out on purpose (unfinished uploads, quarantine, the summary cache).
        public var skipped: Int
    }

    /// Largest single file accepted (a backup never holds one bigger than an attachment may be).
    public static let maxFileSize: Int64 = 1 << 30
    /// Most entries accepted (far above any shop's folder; a bomb of tiny files stops here).
    public static let maxEntries = 5_000_000

    public static func run(archive: String, into target: String, force: Bool, now: Date = Date()) throws -> Report {
        let target = target.count > 1 && target.hasSuffix("/") ? String(target.dropLast()) : target
        let fm = FileManager.default
        guard fm.fileExists(atPath: archive) else { throw ParleyError.badRequest("no archive at \(archive)") }
        // Refuse early what would be refused at the end anyway.
        let targetHasData = !((try? fm.contentsOfDirectory(atPath: target)) ?? []).isEmpty
        if targetHasData && !force {
            throw ParleyError.refused(code: "not_empty", message: "\(target) is not empty; restore into an empty folder, or pass --force to replace it (the old folder is kept aside)")
        }
        var lockFD: Int32 = -1
        if fm.fileExists(atPath: target) {
            lockFD = try DataLayout(root: target).lock()  // not while a server uses it
        }
        defer { if lockFD >= 0 { close(lockFD) } }

        let parent = (target as NSString).deletingLastPathComponent.isEmpty ? "." : (target as NSString).deletingLastPathComponent
        try Durable.makeDirectory(parent)
        let base = (target as NSString).lastPathComponent
        let staging = "\(parent)/.\(base).restoring-\(getpid())"
        // Leftovers of a restore that was killed (its process is gone) hold a copy of the data.
        for f in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where f.hasPrefix(".\(base).restoring-") {
            if let pid = Int32(f.dropFirst(".\(base).restoring-".count)), pid != getpid(), kill(pid, 0) == 0 || errno != ESRCH { continue }
            try? fm.removeItem(atPath: "\(parent)/\(f)")
        }
        guard mkdir(staging, 0o700) == 0 else { throw ParleyError.io("cannot create \(staging): \(errnoString())") }
        do {
            let (written, skipped, manifest) = try extract(archive, into: staging)
            var verified = false
            if let manifest {
                try verify(manifest, written)
                unlink("\(staging)/\(Backup.manifestName)")
                verified = true
            }
            // The server creates the rest (uploads/, quarantine/…) at start.
            var keptAside: String?
            if fm.fileExists(atPath: target) {
                if targetHasData {
                    var aside = "\(target).before-restore-\(Self.stamp(now))"
                    var n = 1
                    while fm.fileExists(atPath: aside) { n += 1; aside = "\(target).before-restore-\(Self.stamp(now))-\(n)" }
                    guard rename(target, aside) == 0 else { throw ParleyError.io("cannot move \(target) aside: \(errnoString())") }
                    keptAside = aside
                } else if rmdir(target) != 0 {
                    throw ParleyError.io("cannot replace the empty folder \(target): \(errnoString())")
                }
            }
            guard rename(staging, target) == 0 else {
                let m = errnoString()
                if let keptAside { rename(keptAside, target) }
                throw ParleyError.io("cannot move the restored data to \(target): \(m)")
            }
            chmod(target, 0o755)
            try Durable.syncDirectory(parent)
            let bytes = written.values.filter { $0.path != Backup.manifestName }.reduce(Int64(0)) { $0 + Int64($1.size) }
            return Report(files: written.count - (verified ? 1 : 0), bytes: bytes, keptAside: keptAside, verified: verified, skipped: skipped)
        } catch {
            try? fm.removeItem(atPath: staging)
            throw error
        }
    }

    static func stamp(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: d)
    }

    /// The relative path of an entry inside the data folder: `./` and one wrapping folder
    /// (`data/`, or whatever the folder was called when archived) are taken off.
    static func strip(_ name: String, wrapper: inout String?, first: Bool) throws -> String? {
        var n = name
        while n.hasPrefix("./") { n.removeFirst(2) }
        if n.hasPrefix("/") { throw ParleyError.badRequest("the archive holds an absolute path (\(name)): refused") }
        let parts = n.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains("..") { throw ParleyError.badRequest("the archive holds a path with .. (\(name)): refused") }
        if n.isEmpty || n == "." { return nil }
        if first && wrapper == nil {
            let head = String(parts[0])
            let top: Set<String> = ["secret.key", "contacts.json", "journal.jsonl", "summaries.cache.json", "README.md", "config",
                                    "tickets", "attachments", "uploads", "quarantine", Backup.manifestName]
            wrapper = top.contains(head) ? "" : head + "/"
        }
        let w = wrapper ?? ""
        if !w.isEmpty {
            if n == String(w.dropLast()) || n == w { return nil }  // the wrapping folder itself
            guard n.hasPrefix(w) else { throw ParleyError.badRequest("\(name) is outside the archive's data folder: refused") }
            n.removeFirst(w.count)
        }
        while n.hasSuffix("/") { n.removeLast() }
        return n.isEmpty ? nil : n
    }

    /// Extracts every entry into `dir`: the files written (relative path → size and SHA-256),
    /// how many were skipped, and the manifest if there was one.
    static func extract(_ archive: String, into dir: String) throws -> ([String: ManifestEntry], Int, BackupManifest?) {
        guard let a = archive_read_new() else { throw ParleyError.io("libarchive: cannot start reading") }
        defer { archive_read_free(a) }
        archive_read_support_filter_all(a)
        archive_read_support_format_tar(a)
        archive_read_support_format_gnutar(a)
        archive_read_support_format_zip(a)
        guard archive_read_open_filename(a, archive, 1 << 16) == ARCHIVE_OK else {
            throw ParleyError.badRequest("cannot read \(archive): \(ArchiveWriter.message(a))")
        }
        var written: [String: ManifestEntry] = [:]
        var skipped = 0
        var wrapper: String?
        var first = true
        var manifest: BackupManifest?
        var entry: OpaquePointer?
        // What the disk can take, keeping some room: a bomb fails here, not by filling the disk.
        var vfs = statvfs()
        let room: Int64 = statvfs(dir, &vfs) == 0 ? Int64(vfs.f_bavail) * Int64(vfs.f_frsize) - (64 << 20) : Int64.max
        var totalWritten: Int64 = 0
        var entries = 0
        while true {
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else {
                throw ParleyError.badRequest("\(archive) is damaged or not an archive: \(ArchiveWriter.message(a))")
            }
            entries += 1
            if entries > maxEntries { throw ParleyError.badRequest("\(archive) holds more than \(maxEntries) entries: refused") }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            let type = archive_entry_filetype(entry) & 0o170000
            if archive_entry_hardlink(entry) != nil || archive_entry_symlink(entry) != nil || type == 0o120000 {
                throw ParleyError.badRequest("the archive holds a link (\(name)): refused")
            }
            guard let rel = try strip(name, wrapper: &wrapper, first: first) else { first = false; continue }
            first = false
            if type == 0o040000 {
                guard DataPath.isFolder(rel) else { throw ParleyError.badRequest("\(name) is not a folder of the data layout: refused") }
                continue
            }
            guard type == 0o100000 else { throw ParleyError.badRequest("the archive holds a device or special file (\(name)): refused") }
            guard let kind = DataPath.classify(rel) else {
                throw ParleyError.badRequest("\(name) is not part of a Parley data folder: refused")
            }
            if kind == .skip { skipped += 1; continue }
            let size = archive_entry_size(entry)
            guard size >= 0, size <= maxFileSize else { throw ParleyError.badRequest("\(name) is too large (\(size) bytes): refused") }
            if written[rel] != nil { throw ParleyError.badRequest("the archive holds \(name) twice: refused") }
            let path = "\(dir)/\(rel)"
            try Durable.makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o755)
            let mode: mode_t = rel == "secret.key" || rel.hasPrefix("config/") ? 0o600 : 0o644
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
            guard fd >= 0 else { throw ParleyError.io("cannot create \(path): \(errnoString())") }
            var hasher = SHA256()
            var total = 0
            var keep: [UInt8] = []
            do {
                defer { close(fd) }
                var buf = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = buf.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                    if n == 0 { break }
                    guard n > 0 else { throw ParleyError.badRequest("\(archive) is damaged (in \(name)): \(ArchiveWriter.message(a))") }
                    total += n
                    totalWritten += Int64(n)
                    // More than the entry said it holds (a lying header), or more than the disk can take.
                    guard Int64(total) <= size else { throw ParleyError.badRequest("\(archive) is damaged: \(name) holds more than its declared size") }
                    guard totalWritten <= room else { throw ParleyError.io("not enough free disk space next to \(dir) for this archive") }
                    try buf.withUnsafeBytes { try Durable.writeAll(fd: fd, bytes: UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: path) }
                    hasher.update(data: buf[0..<n])
                    if rel == Backup.manifestName, keep.count < 64 << 20 { keep += buf[0..<n] }
                }
                guard Int64(total) == size else { throw ParleyError.badRequest("\(archive) is damaged: \(name) is cut short") }
                guard fsync(fd) == 0 else { throw ParleyError.io("cannot sync \(path): \(errnoString())") }
            }
            written[rel] = ManifestEntry(path: rel, size: total, sha256: Tokens.hex(hasher.finalize()))
            if rel == Backup.manifestName {
                guard let m = try? JSONDecoder().decode(BackupManifest.self, from: Data(keep)), m.format == "parley-backup" else {
                    throw ParleyError.badRequest("\(archive) has an unreadable manifest")
                }
                manifest = m
            }
        }
        // Folders made along the way are synced once, at the end.
        for d in Set(written.keys.map { ("\(dir)/\($0)" as NSString).deletingLastPathComponent }) { try Durable.syncDirectory(d) }
        if written.isEmpty { throw ParleyError.badRequest("\(archive) holds no Parley data") }
        return (written, skipped, manifest)
    }

    /// Every file the manifest lists is there with its length and hash, and nothing else is.
    static func verify(_ m: BackupManifest, _ written: [String: ManifestEntry]) throws {
        var listed = Set<String>()
        for f in m.files {
            listed.insert(f.path)
            guard let w = written[f.path] else { throw ParleyError.badRequest("the backup is incomplete: \(f.path) is missing") }
            guard w.size == f.size, w.sha256 == f.sha256 else { throw ParleyError.badRequest("the backup is damaged: \(f.path) does not match its manifest") }
        }
        let extra = Set(written.keys).subtracting(listed).subtracting([Backup.manifestName])
        if let x = extra.sorted().first { throw ParleyError.badRequest("the backup holds \(x), which its manifest does not list") }
    }
}
