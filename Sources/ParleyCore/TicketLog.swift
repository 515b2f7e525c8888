import Foundation

/// What reading one ticket log found: the good events, where the good bytes end, a torn tail
/// (what a crash leaves at the end) and any damage in the middle.
public struct LogContents: Sendable {
    public var events: [TicketEvent] = []
    /// Length in bytes of the prefix made of complete, parseable lines.
    public var validLength: Int = 0
    /// Bytes after `validLength` that form a torn tail (a last line without `\n` or that does not parse).
    public var tornTail: [UInt8] = []
    /// Damage before the last line: reported, never silently dropped.
    public var damage: [String] = []
    public var isClean: Bool { tornTail.isEmpty && damage.isEmpty }
}

/// Reading, verifying and recovering ticket log files.
public enum TicketLog {
    /// Reads a log and classifies its lines. Never modifies the file.
    public static func read(path: String) throws -> LogContents {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParleyError.io("cannot read \(path): \(errnoString())")
        }
        return parse([UInt8](data))
    }

    /// Classifies the lines of a log held in memory.
    public static func parse(_ bytes: [UInt8]) -> LogContents {
        var out = LogContents()
        var lines: [(start: Int, end: Int)] = []  // end excludes the newline
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            lines.append((start, i)); start = i + 1
        }
        let unterminated = start < bytes.count
        let decoder = JSONDecoder()  // one per log: creating one per line costs about a third
        var expected = 1
        var afterDamage = false
        for (n, line) in lines.enumerated() {
            let isLast = n == lines.count - 1 && !unterminated
            do {
                let e = try TicketEvent.parse(line: bytes[line.start..<line.end], decoder: decoder)
                // After an unreadable line its seq is unknown: take the next good line's seq as is.
                if e.seq != expected && !afterDamage {
                    out.damage.append("line \(n + 1): seq \(e.seq), expected \(expected)")
                }
                afterDamage = false
                expected = e.seq + 1
                out.events.append(e)
                out.validLength = line.end + 1
            } catch {
                // Only the last line can be torn by a crash; anything earlier is damage.
                if isLast { out.tornTail = Array(bytes[line.start...]); return out }
                out.damage.append("line \(n + 1): not a valid event (\(error))")
                out.validLength = line.end + 1
                afterDamage = true
            }
        }
        if unterminated { out.tornTail = Array(bytes[start...]) }
        return out
    }

    /// Cuts a torn tail off a log: the bytes go to `quarantineDir` first (synced), then the log is
    /// truncated and synced, so a crash during recovery loses nothing. Returns the quarantine file.
    @discardableResult
    public static func cutTornTail(path: String, contents: LogContents, quarantineDir: String) throws -> String? {
        guard !contents.tornTail.isEmpty else { return nil }
        try Durable.makeDirectory(quarantineDir)
        let base = (path as NSString).lastPathComponent
        let stamp = Timestamp.format(Date()).replacingOccurrences(of: ":", with: "-")
        let qpath = "\(quarantineDir)/\(base).\(stamp).\(UInt32.random(in: 0...UInt32.max)).tail"
        try Durable.writeNew(path: qpath, bytes: contents.tornTail)
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw ParleyError.io("cannot open \(path): \(errnoString())") }
        defer { close(fd) }
        guard ftruncate(fd, off_t(contents.validLength)) == 0, fsync(fd) == 0 else {
            throw ParleyError.io("cannot truncate \(path): \(errnoString())")
        }
        return qpath
    }
}

extension TicketLog {
    /// Moves a whole log into quarantine: for a log with no complete event (a crash while the
    /// ticket was being created, before anything was acknowledged).
    @discardableResult
    public static func quarantineWhole(path: String, quarantineDir: String) throws -> String {
        try Durable.makeDirectory(quarantineDir)
        let base = (path as NSString).lastPathComponent
        let stamp = Timestamp.format(Date()).replacingOccurrences(of: ":", with: "-")
        let qpath = "\(quarantineDir)/\(base).\(stamp).\(UInt32.random(in: 0...UInt32.max)).incomplete"
        guard rename(path, qpath) == 0 else { throw ParleyError.io("cannot move \(path) to quarantine: \(errnoString())") }
        try Durable.syncDirectory(quarantineDir)
        try Durable.syncDirectory((path as NSString).deletingLastPathComponent)
        return qpath
    }
}

/// Small durable file operations: the rules every config and pointer file follows.
public enum Durable {
    /// Creates a directory (and parents) and syncs each new directory's parent.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ParleyError.io("\(path) exists and is not a folder") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0, errno != EEXIST {
            throw ParleyError.io("cannot create folder \(path): \(errnoString())")
        }
        try syncDirectory(parent.isEmpty ? "." : parent)
    }

    /// fsyncs a directory so that a new or renamed entry in it survives a crash.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw ParleyError.io("cannot open folder \(path): \(errnoString())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ParleyError.io("cannot sync folder \(path): \(errnoString())") }
    }

    /// Writes a new file (must not exist), fsyncs it and its directory.
    public static func writeNew(path: String, bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ParleyError.io("cannot create \(path): \(errnoString())") }
        defer { close(fd) }
        try writeAll(fd: fd, bytes: bytes, path: path)
        guard fsync(fd) == 0 else { throw ParleyError.io("cannot sync \(path): \(errnoString())") }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Replaces a small file atomically: write a temp file, fsync, rename over, fsync the directory.
    public static func replace(path: String, bytes: [UInt8], mode: mode_t = 0o644) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(dir)/.\((path as NSString).lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ParleyError.io("cannot create \(tmp): \(errnoString())") }
        do {
            try writeAll(fd: fd, bytes: bytes, path: tmp)
            guard fsync(fd) == 0 else { throw ParleyError.io("cannot sync \(tmp): \(errnoString())") }
            close(fd)
        } catch {
            close(fd); unlink(tmp); throw error
        }
        guard rename(tmp, path) == 0 else {
            let m = errnoString(); unlink(tmp)
            throw ParleyError.io("cannot replace \(path): \(m)")
        }
        try syncDirectory(dir)
    }

    /// write(2) until every byte is out (or throw).
    public static func writeAll(fd: Int32, bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd: fd, bytes: $0, path: path) }
    }

    /// write(2) of memory the caller holds (a network buffer, without copying it), until every byte is out.
    public static func writeAll(fd: Int32, bytes: UnsafeRawBufferPointer, path: String) throws {
        guard let base = bytes.baseAddress else { return }
        var off = 0
        while off < bytes.count {
            let n = write(fd, base + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw ParleyError.io("cannot write \(path): \(errnoString())")
            }
            off += n
        }
    }
}
