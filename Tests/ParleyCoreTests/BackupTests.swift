import Foundation
import Testing
@testable import ParleyCore

/// The pure parts of backup and restore: which paths belong to a data folder, how an archive's
/// names are read, what a snapshot keeps of a log being appended to, and the erase tool's
/// replacement of an email in a log.
@Suite("Backup: data paths, names, snapshots")
struct BackupTests {
    @Test(arguments: [
        ("secret.key", DataPath.Kind.data), ("config/agents.json", .data), ("config/widgets/shop.json", .data),
        ("config/history/shop.jsonl", .data), ("config/drafts/shop.json", .data), ("config/audit.jsonl", .data),
        ("tickets/2026-11/20261121-abcdefghij.jsonl", .data), ("attachments/20261121-abcdefghij/20261121-abcdefghij_abcdefghijkmnpqr", .data),
        ("contacts.json", .data), ("journal.jsonl", .data), ("backup-manifest.json", .data),
        ("uploads/x", .skip), ("quarantine/20261121-abcdefghij.jsonl.x", .skip), ("summaries.cache.json", .skip), ("README.md", .skip),
        ("config/widgets/.demo.json.123.456.tmp", .skip), (".agents.json.1.2.tmp", .skip), ("lost+found/#1234", .skip),
    ])
    func partOfTheLayout(_ path: String, _ kind: DataPath.Kind) {
        #expect(DataPath.classify(path) == kind)
    }

    @Test(arguments: [
        "etc/passwd", "config/widgets/../x.json", "config/widgets/Bad.json", "config/other.json", "tickets/2026-12/20261121-abcdefghij.jsonl",
        "tickets/2026-11/not-a-ticket.jsonl", "attachments/20261121-abcdefghij/20261122-abcdefghij_abcdefghijkmnpqr", "attachments/x/y",
        "config//agents.json", "./secret.key", "secret.key/x",
    ])
    func notPartOfTheLayout(_ path: String) {
        #expect(DataPath.classify(path) == nil)
    }

    /// Names are read relative to one wrapping folder (`data/` or any other name) or to the root.
    @Test func archiveNames() throws {
        var wrapper: String?
        #expect(try Restore.strip("./backup/", wrapper: &wrapper, first: true) == nil)
        #expect(wrapper == "backup/")
        #expect(try Restore.strip("backup/config/agents.json", wrapper: &wrapper, first: false) == "config/agents.json")
        #expect(throws: ParleyError.self) { _ = try Restore.strip("other/config/agents.json", wrapper: &wrapper, first: false) }
        var bare: String?
        #expect(try Restore.strip("tickets/2026-11/", wrapper: &bare, first: true) == "tickets/2026-11")
        #expect(bare == "")
        for hostile in ["/etc/passwd", "data/../x", "../x"] {
            var w: String?
            #expect(throws: ParleyError.self) { _ = try Restore.strip(hostile, wrapper: &w, first: true) }
        }
    }

    /// A line being appended when the snapshot is taken is left out, never cut in half.
    @Test func snapshotsKeepWholeLines() throws {
        #expect(Backup.wholeLines(Array("{\"seq\":1}\n{\"seq\":2}\n{\"se".utf8)) == Array("{\"seq\":1}\n{\"seq\":2}\n".utf8))
        #expect(Backup.wholeLines(Array("{\"se".utf8)) == [])
        #expect(try Backup.compression(for: "b.tar.zst") == .zstd)
        #expect(try Backup.compression(for: "b.TGZ") == .gzip)
        #expect(throws: ParleyError.self) { _ = try Backup.compression(for: "b.zip") }
    }

    /// Only whole addresses: someone else's address that contains this one stays.
    @Test func onlyWholeAddressesAreReplaced() {
        let line = Array(#"{"a":"ma@x.com","b":"a@x.com.au","c":"a@x.com.","d":"<A@X.COM>","e":"a@x.com"}"#.utf8)
        let out = DataTools.replacing(Array("a@x.com".utf8), in: line, with: Array("[erased]".utf8))
        #expect(out.map { String(decoding: $0, as: UTF8.self) } == #"{"a":"ma@x.com","b":"a@x.com.au","c":"[erased].","d":"<[erased]>","e":"[erased]"}"#)
    }

    @Test func emailsAreReplacedWhateverTheirCase() {
        let line = Array(#"{"text":"Mail ERIN@Example.com or erin@example.com, not erin@example.org"}"#.utf8)
        let out = DataTools.replacing(Array("erin@example.com".utf8), in: line, with: Array("[erased]".utf8))
        #expect(out.map { String(decoding: $0, as: UTF8.self) } == #"{"text":"Mail [erased] or [erased], not erin@example.org"}"#)
        #expect(DataTools.replacing(Array("zoe@example.com".utf8), in: line, with: []) == nil)
    }
}
