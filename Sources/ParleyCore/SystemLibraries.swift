import CArchive
import CMagic
import Foundation
import Synchronization

/// Content-based type detection with libmagic. libmagic is not thread-safe: one cookie, one lock.
public final class MimeSniffer: Sendable {
    private let cookie: Mutex<OpaquePointer?>

    public init() throws {
        guard let c = magic_open(Int32(MAGIC_MIME_TYPE | MAGIC_ERROR)) else { throw ParleyError.io("libmagic: cannot open") }
        guard magic_load(c, nil) == 0 else {
            let msg = magic_error(c).map { String(cString: $0) } ?? "unknown error"
            magic_close(c)
            throw ParleyError.io("libmagic: cannot load the magic database: \(msg)")
        }
        cookie = Mutex(c)
    }

    deinit { cookie.withLock { if let c = $0 { magic_close(c) } } }

    /// The MIME type of a file, decided by its content.
    public func mimeType(ofFile path: String) throws -> String {
        try cookie.withLock { c in
            guard let c, let r = magic_file(c, path) else { throw ParleyError.io("libmagic: cannot read \(path)") }
            return String(cString: r)
        }
    }

    /// The MIME type of bytes in memory.
    public func mimeType(of bytes: [UInt8]) throws -> String {
        try cookie.withLock { c in
            guard let c else { throw ParleyError.io("libmagic: closed") }
            let r = bytes.withUnsafeBytes { magic_buffer(c, $0.baseAddress, $0.count) }
            guard let r else { throw ParleyError.io("libmagic: cannot classify buffer") }
            return String(cString: r)
        }
    }
}

/// Facts about the linked libarchive (the backup issue builds on it).
public enum ArchiveSupport {
    public static var version: String { String(cString: archive_version_string()) }
}
