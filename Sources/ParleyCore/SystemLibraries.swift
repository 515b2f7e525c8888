import CArchive
import CMagic
import Foundation
import Synchronization

/// Content-based type detection with libmagic. libmagic is not thread-safe: one cookie, one lock.
public final class MimeSniffer: Sendable {
    private let cookie: Mutex<OpaquePointer?>

    /// How much of a file libmagic reads. Its default (7 MB) is read into memory on every call
    /// and made a 100 MB upload cost ~20 MB of peak RSS; signatures sit in the first kilobytes.
    public static let bytesExamined = 1 << 20

    public init() throws {
        guard let c = magic_open(Int32(MAGIC_MIME_TYPE | MAGIC_ERROR)) else { throw ParleyError.io("libmagic: cannot open") }
        var bytesMax = Self.bytesExamined
        guard magic_setparam(c, MAGIC_PARAM_BYTES_MAX, &bytesMax) == 0 else {
            magic_close(c)
            throw ParleyError.io("libmagic: cannot limit the bytes examined")
        }
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

/// gzip through libarchive (its `raw` format with the gzip filter), so static assets can be served
/// compressed without another system library.
public enum Gzip {
    /// The gzip stream of `bytes` at compression level 9, or nil if libarchive refuses.
    public static func compress(_ bytes: [UInt8]) -> [UInt8]? {
        guard let a = archive_write_new() else { return nil }
        defer { archive_write_free(a) }
        guard archive_write_add_filter_gzip(a) == ARCHIVE_OK,
              archive_write_set_format_raw(a) == ARCHIVE_OK,
              archive_write_set_filter_option(a, "gzip", "compression-level", "9") == ARCHIVE_OK,
              archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK else { return nil }
        // Deflate never grows data by more than a few bytes per 16 KB block, plus the header.
        // libarchive keeps both pointers until the archive is closed, so they are allocated here
        // (not borrowed for the duration of one call, as `&array` would be).
        let capacity = bytes.count + bytes.count / 64 + 1024
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { out.deallocate() }
        let used = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        used.initialize(to: 0)
        defer { used.deallocate() }
        guard archive_write_open_memory(a, out.baseAddress, capacity, used) == ARCHIVE_OK,
              let entry = archive_entry_new() else { return nil }
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG (a cast macro Swift cannot import)
        archive_entry_set_size(entry, la_int64_t(bytes.count))
        archive_entry_set_pathname(entry, "asset")
        guard archive_write_header(a, entry) == ARCHIVE_OK else { return nil }
        let written = bytes.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
        guard written == bytes.count, archive_write_close(a) == ARCHIVE_OK, used.pointee <= capacity else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: out[0..<used.pointee]))
    }
}
