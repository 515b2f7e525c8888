import Foundation
import Testing
@testable import ParleyCore

@Suite("Attachment policy, names and ids")
struct AttachmentPolicyTests {
    @Test(arguments: [
        // (detected type, patterns, accepted?)
        ("image/png", MimePolicy.defaultAllowed, true),
        ("image/jpeg", MimePolicy.defaultAllowed, true),
        ("image/webp", MimePolicy.defaultAllowed, true),
        ("application/pdf", MimePolicy.defaultAllowed, true),
        ("text/plain", MimePolicy.defaultAllowed, true),
        ("text/csv", MimePolicy.defaultAllowed, true),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", MimePolicy.defaultAllowed, true),
        ("application/vnd.oasis.opendocument.spreadsheet", MimePolicy.defaultAllowed, true),
        ("application/zip", MimePolicy.defaultAllowed, true),
        ("text/html", MimePolicy.defaultAllowed, false),
        ("image/svg+xml", MimePolicy.defaultAllowed, false),
        ("application/x-executable", MimePolicy.defaultAllowed, false),
        ("application/x-pie-executable", MimePolicy.defaultAllowed, false),
        ("text/x-shellscript", MimePolicy.defaultAllowed, false),
        ("application/x-dosexec", MimePolicy.defaultAllowed, false),
        ("application/octet-stream", MimePolicy.defaultAllowed, false),
        // Wildcards never admit active content; naming the exact type does.
        ("image/svg+xml", ["image/*"], false),
        ("image/svg+xml", ["image/*", "image/svg+xml"], true),
        ("text/x-shellscript", ["text/*"], false),
        ("text/html", ["text/*"], false),
        ("text/markdown", ["text/*"], true),
        ("IMAGE/PNG", ["image/png"], true),
        ("image/png", [" Image/PNG "], true),
        ("image/png", [], false),
    ])
    func allowList(_ type: String, _ patterns: [String], _ accepted: Bool) {
        #expect(MimePolicy.allows(type, patterns: patterns) == accepted)
    }

    @Test func onlyRasterImagesAreInline() {
        for t in ["image/png", "image/jpeg", "image/gif", "image/webp"] { #expect(MimePolicy.isRasterImage(t), "\(t)") }
        for t in ["image/svg+xml", "application/pdf", "text/html", "image/tiff"] { #expect(!MimePolicy.isRasterImage(t), "\(t)") }
    }

    @Test(arguments: [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\Desktop\\invoice.pdf", "invoice.pdf"),
        ("\u{202E}gpj.exe", "gpj.exe"),        // a right-to-left override would disguise the extension
        ("line\nbreak.txt", "linebreak.txt"),
        ("  spaced.txt  ", "spaced.txt"),
        (".bashrc", "bashrc"),
        ("", "file"),
        ("///", "file"),
        ("été 2026.png", "été 2026.png"),
    ])
    func displayNames(_ raw: String, _ shown: String) {
        #expect(FileNames.display(raw) == shown)
    }

    @Test func longNamesKeepTheirExtension() {
        let name = FileNames.display(String(repeating: "a", count: 500) + ".pdf")
        #expect(name.count == FileNames.maxLength)
        #expect(name.hasSuffix(".pdf"))
    }

    @Test func sizesReadLikeAPerson() {
        #expect(FileNames.size(5 * 1024 * 1024) == "5 MB")
        #expect(FileNames.size(7_654_321) == "7.3 MB")
        #expect(FileNames.size(512 * 1024) == "512 KB")
        #expect(FileNames.size(1) == "1 byte")
        #expect(FileNames.size(900) == "900 bytes")
    }

    @Test func attachmentIdsNameTheirTicket() {
        let ticket = TicketID.make(now: fixedNow)
        let a = AttachmentID.make(ticket: ticket), b = AttachmentID.make(ticket: ticket)
        #expect(a != b)
        #expect(AttachmentID.ticket(of: a) == ticket)
        for bad in ["", ticket, ticket + "_", ticket + "_" + String(repeating: "a", count: 15), ticket + "-" + String(repeating: "a", count: 16),
                    ticket + "_" + String(repeating: "A", count: 16), "../" + String(a.dropFirst(3)), a + "x"] {
            #expect(AttachmentID.ticket(of: bad) == nil, "\(bad)")
        }
    }
}

@Suite("Upload files: create, limits, cancel, move, expiry, start-up recovery")
struct UploadStoreTests {
    let visitor = EventActor(kind: .visitor, name: "Ann")
    let ticket = "20251121-abcdefghjk"

    func store(_ tmp: TempFolder, ttl: TimeInterval = 3600) throws -> UploadStore {
        try tmp.layout.create()
        let s = UploadStore(layout: tmp.layout, ttl: ttl)
        _ = try s.load(now: fixedNow)
        return s
    }

    func append(_ s: UploadStore, _ id: String, _ bytes: [UInt8]) throws {
        let fd = open(s.dataPath(id), O_WRONLY | O_APPEND)
        #expect(fd >= 0)
        defer { close(fd) }
        try Durable.writeAll(fd: fd, bytes: bytes, path: s.dataPath(id))
    }

    func mode(_ path: String) -> mode_t {
        var st = stat(); stat(path, &st); return st.st_mode & 0o777
    }

    @Test func createMakesAPrivateRecordAndAnEmptyFile() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp)
        let rec = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "../x/photo.png",
                               length: 10, maxUnfinished: 5, now: fixedNow)
        #expect(rec.name == "photo.png")
        #expect(AttachmentID.ticket(of: rec.id) == ticket)
        #expect(s.offset(rec.id) == 0)
        #expect(mode(s.dataPath(rec.id)) == 0o600)
        #expect(mode(s.metaPath(rec.id)) == 0o600)
        let saved = try JSONDecoder().decode(UploadRecord.self, from: Data(contentsOf: URL(fileURLWithPath: s.metaPath(rec.id))))
        #expect(saved == rec)
    }

    @Test func unfinishedUploadsAreLimitedPerSenderAndTicket() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp)
        for _ in 0..<2 { _ = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a", length: 1, maxUnfinished: 2) }
        #expect(throws: UploadError.tooMany(2)) {
            try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a", length: 1, maxUnfinished: 2)
        }
        // Another sender on the same ticket, and the same sender on another ticket, are not held back.
        _ = try s.create(ticket: ticket, widget: "demo", owner: "agent:a1", by: visitor, name: "a", length: 1, maxUnfinished: 2)
        _ = try s.create(ticket: "20251121-bbbbbbbbbb", widget: "demo", owner: "visitor", by: visitor, name: "a", length: 1, maxUnfinished: 2)
        #expect(s.unfinished(ticket: ticket, owner: "visitor") == 2)
    }

    @Test func oneWriterAtATime() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp)
        let rec = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a", length: 4, maxUnfinished: 5)
        _ = try s.begin(rec.id)
        #expect(throws: UploadError.busy) { try s.begin(rec.id) }
        s.end(rec.id)
        _ = try s.begin(rec.id)
        #expect(throws: UploadError.notFound) { try s.begin("nope") }
    }

    @Test func cancelRemovesEverythingEvenWhileAWriterHoldsIt() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp)
        let rec = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a", length: 4, maxUnfinished: 5)
        _ = try s.begin(rec.id)
        try append(s, rec.id, [1, 2])
        try s.cancel(rec.id)
        #expect(s.isCanceled(rec.id))
        #expect(s.record(rec.id) == nil)
        #expect(!FileManager.default.fileExists(atPath: s.dataPath(rec.id)))
        #expect(!FileManager.default.fileExists(atPath: s.metaPath(rec.id)))
        #expect(throws: UploadError.notFound) { try s.moveToAttachments(rec.id, info: AttachmentInfo(id: rec.id, name: "a", size: 4, type: "text/plain")) }
        #expect(throws: UploadError.notFound) { try s.cancel(rec.id) }
    }

    @Test func finishedUploadsMoveAndCannotBeCanceled() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp)
        let rec = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a.txt", length: 3, maxUnfinished: 5)
        try append(s, rec.id, Array("abc".utf8))
        let info = AttachmentInfo(id: rec.id, name: "a.txt", size: 3, type: "text/plain")
        try s.moveToAttachments(rec.id, info: info)
        #expect(throws: UploadError.finishing) { try s.cancel(rec.id) }
        try s.markDone(rec.id, info: info, now: fixedNow)
        #expect(try String(contentsOfFile: s.attachmentPath(ticket: ticket, id: rec.id), encoding: .utf8) == "abc")
        #expect(s.offset(rec.id) == nil)
        #expect(s.record(rec.id)?.attachment == info)
        #expect(s.unfinished(ticket: ticket, owner: "visitor") == 0)
        #expect(throws: UploadError.finishing) { try s.cancel(rec.id) }
    }

    @Test func sweepRemovesOnlyExpiredUploads() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp, ttl: 3600)
        let old = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a", length: 4, maxUnfinished: 5, now: fixedNow)
        let done = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "b", length: 1, maxUnfinished: 5, now: fixedNow)
        try append(s, done.id, [1])
        let info = AttachmentInfo(id: done.id, name: "b", size: 1, type: "application/octet-stream")
        try s.moveToAttachments(done.id, info: info)
        try s.markDone(done.id, info: info, now: fixedNow)
        // The files were written "now" (real clock), so judge expiry from the real clock.
        let now = Date()
        #expect(s.sweep(now: now) == 1)  // only the done-marker, dated fixedNow, is old enough
        #expect(s.record(done.id) == nil)
        #expect(FileManager.default.fileExists(atPath: s.attachmentPath(ticket: ticket, id: done.id)), "the attachment itself stays")
        #expect(s.record(old.id) != nil)
        _ = try s.begin(old.id)
        #expect(s.sweep(now: now.addingTimeInterval(7200)) == 0, "a busy upload is never swept")
        s.end(old.id)
        #expect(s.sweep(now: now.addingTimeInterval(7200)) == 1)
        #expect(!FileManager.default.fileExists(atPath: s.dataPath(old.id)))
        #expect(!FileManager.default.fileExists(atPath: s.metaPath(old.id)))
    }

    @Test func startUpKeepsResumableUploadsAndClearsDebris() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp)
        let keep = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a", length: 4, maxUnfinished: 9)
        try append(s, keep.id, [1, 2])
        let noBytes = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "b", length: 4, maxUnfinished: 9)
        unlink(s.dataPath(noBytes.id))
        let moving = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "c.txt", length: 3, maxUnfinished: 9)
        try append(s, moving.id, Array("xyz".utf8))
        // A crash after the record noted the move but before the rename.
        var rec = moving
        rec.finishing = AttachmentInfo(id: moving.id, name: "c.txt", size: 3, type: "text/plain")
        try Durable.replace(path: s.metaPath(moving.id), bytes: try UploadStore.encode(rec))
        let orphan = "\(tmp.layout.uploads)/\(AttachmentID.make(ticket: ticket))"
        try Durable.writeNew(path: orphan, bytes: [1])
        try Durable.writeNew(path: "\(tmp.layout.uploads)/.x.json.1.2.tmp", bytes: [1])
        let garbage = AttachmentID.make(ticket: ticket)
        try Durable.writeNew(path: s.metaPath(garbage), bytes: Array("{not json".utf8))

        let again = UploadStore(layout: tmp.layout, ttl: 3600)
        let report = try again.load(now: Date())
        #expect(again.record(keep.id) != nil)
        #expect(again.offset(keep.id) == 2)
        #expect(again.record(noBytes.id) == nil)
        #expect(report.pending.map(\.id) == [moving.id])
        #expect(again.finishing().map(\.id) == [moving.id], "left for the server to finish (a failure must not stop the start)")
        #expect(throws: UploadError.finishing) { try again.cancel(moving.id) }
        #expect(again.sweep(now: Date().addingTimeInterval(1e6)) == 1, "only the resumable upload expires; the finishing one is kept")
        #expect(again.record(moving.id) != nil)
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(!FileManager.default.fileExists(atPath: s.metaPath(garbage)))
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.layout.uploads).sorted()
        #expect(left == [moving.id, moving.id + ".json"].sorted())
        // Finishing is idempotent: the move happens once, a second call finds it done.
        let info = try #require(rec.finishing)
        try again.moveToAttachments(moving.id, info: info)
        try again.moveToAttachments(moving.id, info: info)
        #expect(try String(contentsOfFile: again.attachmentPath(ticket: ticket, id: moving.id), encoding: .utf8) == "xyz")
    }

    @Test func expiredUploadsGoAtStartUp() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let s = try store(tmp, ttl: 60)
        let rec = try s.create(ticket: ticket, widget: "demo", owner: "visitor", by: visitor, name: "a", length: 4, maxUnfinished: 5)
        let again = UploadStore(layout: tmp.layout, ttl: 60)
        let report = try again.load(now: Date().addingTimeInterval(120))
        #expect(report.removed == 1)
        #expect(again.record(rec.id) == nil)
        #expect(!FileManager.default.fileExists(atPath: s.dataPath(rec.id)))
    }
}
