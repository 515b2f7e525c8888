import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ParleyCore
@testable import ParleyServer
import Testing

/// The tus routes and downloads through the router. (Python tests drive the same routes with
/// tuspy over real sockets: interruptions, large files, memory.)
@Suite struct UploadAPITests {
    static let png: [UInt8] = Array(Data(base64Encoded:
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")!)

    func tus(_ token: String, _ more: HTTPFields = [:]) -> HTTPFields {
        var h: HTTPFields = [.authorization: "Bearer \(token)", .tusResumable: "1.0.0"]
        h.append(contentsOf: more)
        return h
    }

    func metadata(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0) \(Data($0.1.utf8).base64EncodedString())" }.joined(separator: ",")
    }

    @Test func smallFileInOneRequestBecomesAnAttachment() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let r = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [
                .uploadLength: "\(Self.png.count)", .contentType: "application/offset+octet-stream",
                .uploadMetadata: metadata([("ticket", ticket), ("filename", "dot.png"), ("filetype", "text/html")])]),
                body: ByteBuffer(bytes: Self.png))
            #expect(r.status == .created)
            let id = try #require(r.headers[.parleyAttachment])
            #expect(r.headers[.location] == "/api/uploads/\(id)")
            #expect(r.headers[.uploadOffset] == "\(Self.png.count)")
            let events = try object(try await client.get("/api/tickets/\(ticket)/events", headers: bearer(token))).list("events")
            let a = try #require(events.last?.dict("attachment"))
            #expect(a.str("id") == id && a.str("name") == "dot.png" && a.int("size") == Self.png.count)
            #expect(a.str("type") == "image/png", "the declared filetype is advisory only")

            let d = try await client.get("/api/attachments/\(id)", headers: bearer(token))
            #expect(d.status == .ok)
            #expect(Array(buffer: d.body) == Self.png)
            #expect(d.headers[.contentType] == "image/png")
            #expect(d.headers[.contentDisposition] == #"attachment; filename="dot.png"; filename*=UTF-8''dot.png"#)
            #expect(d.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(d.headers[.contentSecurityPolicy]?.contains("sandbox") == true)
            let inline = try await client.get("/api/attachments/\(id)?inline=1", headers: bearer(token))
            #expect(inline.headers[.contentDisposition]?.hasPrefix("inline;") == true)
            let etag = try #require(d.headers[.eTag])
            let again = try await client.get("/api/attachments/\(id)", headers: bearer(token) + [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            let part = try await client.get("/api/attachments/\(id)", headers: bearer(token) + [.range: "bytes=1-3"])
            #expect(part.status == .partialContent)
            #expect(Array(buffer: part.body) == Array(Self.png[1...3]))
            #expect(part.headers[.contentRange] == "bytes 1-3/\(Self.png.count)")
            let past = try await client.get("/api/attachments/\(id)", headers: bearer(token) + [.range: "bytes=999-"])
            #expect(past.status == .rangeNotSatisfiable)
            #expect(past.headers[.contentRange] == "bytes */\(Self.png.count)")
        }
    }

    @Test func refusedContentLeavesNothingBehind() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let html = Array("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n".utf8)
            let r = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [
                .uploadLength: "\(html.count)", .contentType: "application/offset+octet-stream",
                .uploadMetadata: metadata([("ticket", ticket), ("filename", "cat.jpg")])]), body: ByteBuffer(bytes: html))
            #expect(r.status == .unsupportedMediaType)
            #expect(errorCode(r) == "type_not_allowed")
            #expect(String(buffer: r.body).contains("text/html"))
            #expect(try object(r).dict("error")?.dict("fields")?.str("type") == "text/html", "for pages that say it in their own language")
            #expect(try FileManager.default.contentsOfDirectory(atPath: env.services.layout.uploads).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: env.services.layout.attachments).isEmpty)
            #expect(!env.logLines().contains { $0.contains("\"attachment\"") })
        }
    }

    @Test func limitsAreNamedInTheErrors() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let meta = metadata([("ticket", ticket), ("filename", "big.zip")])
            let big = try await client.execute(uri: "/api/uploads", method: .post,
                                               headers: tus(token, [.uploadLength: "\(6 * 1024 * 1024)", .uploadMetadata: meta]))
            #expect(big.status == .contentTooLarge)
            #expect(errorCode(big) == "file_too_large")
            #expect(String(buffer: big.body).contains("big.zip is 6 MB; the limit is 5 MB"))
            for _ in 0..<5 {
                let ok = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [.uploadLength: "10", .uploadMetadata: meta]))
                #expect(ok.status == .created)
            }
            let sixth = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [.uploadLength: "10", .uploadMetadata: meta]))
            #expect(sixth.status == .unprocessableContent)
            #expect(errorCode(sixth) == "too_many_files")
            #expect(String(buffer: sixth.body).contains("at most 5 files"))
            let empty = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [.uploadLength: "0", .uploadMetadata: meta]))
            #expect(errorCode(empty) == "empty_file")
            let noVersion = try await client.execute(uri: "/api/uploads", method: .post,
                                                     headers: bearer(token) + [.uploadLength: "10", .uploadMetadata: meta])
            #expect(noVersion.status == .preconditionFailed)
            #expect(noVersion.headers[.tusVersion] == "1.0.0")
            let noTicket = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [.uploadLength: "10"]))
            #expect(noTicket.status == .badRequest)
        }
    }

    @Test func offsetsMustMatchAndOnlyTheOwnerSeesAnUpload() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let (_, other) = try await client.startTicket(name: "Eve", email: "eve@example.com")
            let c = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [
                .uploadLength: "\(Self.png.count)", .uploadMetadata: metadata([("ticket", ticket), ("filename", "dot.png")])]))
            let url = try #require(c.headers[.location])
            let octet: HTTPFields = [.contentType: "application/offset+octet-stream"]
            let first = try await client.execute(uri: url, method: .patch, headers: tus(token, octet + [.uploadOffset: "0"]),
                                                 body: ByteBuffer(bytes: Self.png[0..<20]))
            #expect(first.status == .noContent && first.headers[.uploadOffset] == "20")
            let stale = try await client.execute(uri: url, method: .patch, headers: tus(token, octet + [.uploadOffset: "0"]),
                                                 body: ByteBuffer(bytes: Self.png[0..<20]))
            #expect(stale.status == .conflict && stale.headers[.uploadOffset] == "20")
            let tooLong = try await client.execute(uri: url, method: .patch, headers: tus(token, octet + [.uploadOffset: "20"]),
                                                   body: ByteBuffer(bytes: Self.png + Self.png))
            #expect(tooLong.status == .contentTooLarge)
            for method in [HTTPRequest.Method.head, .patch, .delete] {
                let r = try await client.execute(uri: url, method: method, headers: tus(other, octet + [.uploadOffset: "20"]), body: ByteBuffer(bytes: [1]))
                #expect(r.status == .notFound, "\(method) with another visitor's token")
            }
            let h = try await client.execute(uri: url, method: .head, headers: tus(token))
            #expect(h.headers[.uploadOffset] == "20" && h.headers[.uploadLength] == "\(Self.png.count)")
            let last = try await client.execute(uri: url, method: .patch, headers: tus(token, octet + [.uploadOffset: "20"]),
                                                body: ByteBuffer(bytes: Self.png[20...]))
            let id = try #require(last.headers[.parleyAttachment])
            // A client that lost that answer asks again and learns the upload is done.
            let done = try await client.execute(uri: url, method: .head, headers: tus(token))
            #expect(done.headers[.uploadOffset] == "\(Self.png.count)" && done.headers[.parleyAttachment] == id)
            #expect(try await client.get("/api/attachments/\(id)", headers: bearer(other)).status == .notFound)
            #expect(try await client.get("/api/attachments/\(id)").status == .unauthorized)
            let cancelLate = try await client.execute(uri: url, method: .delete, headers: tus(token))
            #expect(cancelLate.status == .conflict)
        }
    }

    @Test func agentsUploadWithTheirSessionAndSeeVisitorFiles() async throws {
        let env = try TestEnv()
        try env.addAgent("sam@shop.test")
        try env.addAgent("olga@shop.test", widgets: ["other"])
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let sam = try await client.login("sam@shop.test")
            let olga = try await client.login("olga@shop.test")
            let meta = metadata([("ticket", ticket), ("filename", "dot.png")])
            let refused = try await client.execute(uri: "/api/uploads", method: .post, headers: olga + [.tusResumable: "1.0.0",
                .uploadLength: "\(Self.png.count)", .uploadMetadata: meta])
            #expect(refused.status == .notFound, "an agent without access to the widget")
            let r = try await client.execute(uri: "/api/uploads", method: .post, headers: sam + [.tusResumable: "1.0.0",
                .uploadLength: "\(Self.png.count)", .uploadMetadata: meta, .contentType: "application/offset+octet-stream"],
                body: ByteBuffer(bytes: Self.png))
            #expect(r.status == .created)
            let id = try #require(r.headers[.parleyAttachment])
            let events = try object(try await client.get("/api/tickets/\(ticket)/events", headers: bearer(token))).list("events")
            #expect(events.last?.str("type") == "attachment")
            #expect(events.last?.dict("by")?.str("kind") == "agent")
            #expect(Array(buffer: try await client.get("/api/attachments/\(id)", headers: bearer(token)).body) == Self.png)
            #expect(try await client.get("/api/attachments/\(id)", headers: olga).status == .notFound)
            #expect(Array(buffer: try await client.get("/api/attachments/\(id)", headers: sam).body) == Self.png)
        }
    }

    /// The finish fails half-way (here: `attachments/<ticket>` cannot be created). The bytes
    /// stay, the upload cannot be canceled or swept, and an empty PATCH at the end finishes it
    /// once the cause is gone; the event is never doubled.
    @Test func aFinishThatFailedHalfWayIsRetried() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let blocker = env.services.layout.attachments + "/" + ticket
            try Durable.writeNew(path: blocker, bytes: [1])
            let c = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [
                .uploadLength: "\(Self.png.count)", .uploadMetadata: metadata([("ticket", ticket), ("filename", "dot.png")])]))
            let url = try #require(c.headers[.location])
            let octet: HTTPFields = [.contentType: "application/offset+octet-stream"]
            let failed = try await client.execute(uri: url, method: .patch, headers: tus(token, octet + [.uploadOffset: "0"]),
                                                  body: ByteBuffer(bytes: Self.png))
            #expect(failed.status == .internalServerError)
            #expect(!String(buffer: failed.body).contains(env.dir), "no server paths in answers")
            let h = try await client.execute(uri: url, method: .head, headers: tus(token))
            #expect(h.headers[.uploadOffset] == "\(Self.png.count)" && h.headers[.parleyAttachment] == nil)
            #expect(try await client.execute(uri: url, method: .delete, headers: tus(token)).status == .conflict)
            #expect(env.services.uploads.sweep(now: Date().addingTimeInterval(1e7)) == 0)
            unlink(blocker)
            let again = try await client.execute(uri: url, method: .patch, headers: tus(token, octet + [.uploadOffset: "\(Self.png.count)"]))
            #expect(again.status == .noContent)
            let id = try #require(again.headers[.parleyAttachment])
            await env.services.finishPendingAttachments()
            let events = try object(try await client.get("/api/tickets/\(ticket)/events", headers: bearer(token))).list("events")
            #expect(events.filter { $0.str("type") == "attachment" }.count == 1)
            #expect(Array(buffer: try await client.get("/api/attachments/\(id)", headers: bearer(token)).body) == Self.png)
        }
    }

    @Test func aFailedCreationWithUploadLeavesNoUpload() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let r = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [
                .uploadLength: "10", .contentType: "application/offset+octet-stream",
                .uploadMetadata: metadata([("ticket", ticket), ("filename", "a.txt")])]), body: ByteBuffer(bytes: Array(repeating: 65, count: 30)))
            #expect(r.status == .contentTooLarge)
            #expect(r.headers[.location] == nil)
            #expect(env.services.uploads.unfinished(ticket: ticket, owner: "visitor") == 0, "it would hold a slot nobody can free")
            #expect(try FileManager.default.contentsOfDirectory(atPath: env.services.layout.uploads).isEmpty)
        }
    }

    @Test func everyUploadAnswerNamesTheProtocolAndExpiredUploadsAreGone() async throws {
        let env = try TestEnv { $0.uploadExpirySeconds = 0 }
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            let anonymous = try await client.execute(uri: "/api/uploads", method: .post, headers: [
                .tusResumable: "1.0.0", .uploadLength: "3", .uploadMetadata: metadata([("ticket", ticket)])])
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.tusResumable] == "1.0.0")
            let c = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [
                .uploadLength: "3", .uploadMetadata: metadata([("ticket", ticket), ("filename", "a.txt")])]))
            let url = try #require(c.headers[.location])
            let h = try await client.execute(uri: url, method: .head, headers: tus(token))
            #expect(h.status == .notFound, "expired (even before the sweep)")
            #expect(h.headers[.tusResumable] == "1.0.0")
        }
    }

    /// A browser caches a same-origin answer (no CORS grant); without `Vary: Origin` it would
    /// reuse it for the shop's cross-origin fetch, which then fails.
    @Test func visitorAnswersVaryByOriginEvenWithoutOne() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let (ticket, token) = try await client.startTicket()
            #expect(try await client.get("/api/widgets/demo/config").headers[.vary] == "Origin")
            #expect(try await client.get("/api/tickets/\(ticket)/events", headers: bearer(token)).headers[.vary] == "Origin")
            #expect(try await client.get("/api/tickets/\(ticket)/events").headers[.vary] == "Origin", "errors too")
            let r = try await client.execute(uri: "/api/uploads", method: .post, headers: tus(token, [
                .uploadLength: "\(Self.png.count)", .contentType: "application/offset+octet-stream",
                .uploadMetadata: metadata([("ticket", ticket), ("filename", "dot.png")])]), body: ByteBuffer(bytes: Self.png))
            let id = try #require(r.headers[.parleyAttachment])
            #expect(try await client.get("/api/attachments/\(id)", headers: bearer(token)).headers[.vary] == "Origin")
        }
    }

    @Test func discoveryAdvertisesTheExtensions() async throws {
        let env = try TestEnv()
        try await env.app.test(.router) { client in
            let r = try await client.execute(uri: "/api/uploads", method: .options)
            #expect(r.status == .noContent)
            #expect(r.headers[.tusVersion] == "1.0.0")
            #expect(r.headers[.tusExtension] == "creation,creation-with-upload,termination,expiration")
            #expect(r.headers[.tusMaxSize] == "\(5 * 1024 * 1024)")
        }
    }

    /// A crash after the bytes moved to attachments/ but before the event reached the log:
    /// the next start appends the event, once.
    @Test func anInterruptedMoveIsFinishedAtStartUp() async throws {
        let dir: String
        let ticket: String
        let id: String
        do {
            let env = try TestEnv()
            dir = env.dir
            (ticket, _) = try await env.app.test(.router) { client in try await client.startTicket() }
            let uploads = env.services.uploads
            let rec = try uploads.create(ticket: ticket, widget: "demo", owner: "visitor", by: EventActor(kind: .visitor, name: "Ann"),
                                         name: "dot.png", length: Self.png.count, maxUnfinished: 5)
            id = rec.id
            let fd = open(uploads.dataPath(id), O_WRONLY | O_APPEND)
            try Durable.writeAll(fd: fd, bytes: Self.png, path: uploads.dataPath(id))
            close(fd)
            try uploads.moveToAttachments(id, info: AttachmentInfo(id: id, name: "dot.png", size: Self.png.count, type: "image/png"))
            env.services.shutdown()
            // Keep the folder: TestEnv removes it at deinit, so copy it aside first.
            try FileManager.default.copyItem(atPath: dir, toPath: dir + "-after")
        }
        defer { try? FileManager.default.removeItem(atPath: dir + "-after") }
        for round in 1...2 {
            let again = try TestEnv { $0.dataDirectory = dir + "-after" }
            await again.services.finishPendingAttachments()
            let events = try await again.services.store.events(ticket: ticket).filter { $0.type == EventType.attachment }
            #expect(events.count == 1, "round \(round)")
            #expect(events.first?.attachment?.id == id)
            #expect(again.services.uploads.record(id)?.attachment != nil)
            again.services.shutdown()
        }
    }

    @Test(arguments: [
        ("bytes=0-9", 100, UploadController.RangeAnswer.part(0...9)),
        ("bytes=90-", 100, .part(90...99)),
        ("bytes=-10", 100, .part(90...99)),
        ("bytes=-500", 100, .part(0...99)),
        ("bytes=50-500", 100, .part(50...99)),
        ("bytes=100-", 100, .unsatisfiable),
        ("bytes=-0", 100, .unsatisfiable),
        ("bytes=0-1,5-6", 100, .whole),
        ("items=0-1", 100, .whole),
        ("bytes=9-1", 100, .whole),
        ("bytes=x-", 100, .whole),
    ])
    func byteRanges(_ header: String, _ size: Int, _ answer: UploadController.RangeAnswer) {
        #expect(UploadController.byteRange(header, size: size) == answer)
    }

    @Test func contentDispositionIsSafeForAnyName() {
        #expect(UploadController.contentDisposition("attachment", name: "Facture été.pdf")
                == #"attachment; filename="Facture _t_.pdf"; filename*=UTF-8''Facture%20%C3%A9t%C3%A9.pdf"#)
        #expect(UploadController.contentDisposition("attachment", name: #"a"b\c;d%e.txt"#)
                == #"attachment; filename="a_b_c_d_e.txt"; filename*=UTF-8''a%22b%5Cc%3Bd%25e.txt"#)
    }

    @Test func metadataIsParsedStrictly() throws {
        let m = try UploadController.metadata("ticket dGs=,filename w6l0w6kucG5n,flag")
        #expect(m == ["ticket": "tk", "filename": "été.png", "flag": ""])
        #expect(try UploadController.metadata(nil) == [:])
        #expect(throws: APIError.self) { try UploadController.metadata("ticket !!!") }
    }
}

func + (a: HTTPFields, b: HTTPFields) -> HTTPFields {
    var h = a
    h.append(contentsOf: b)
    return h
}
