import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import ParleyCore

extension HTTPField.Name {
    static let tusResumable = Self("Tus-Resumable")!
    static let tusVersion = Self("Tus-Version")!
    static let tusExtension = Self("Tus-Extension")!
    static let tusMaxSize = Self("Tus-Max-Size")!
    static let uploadLength = Self("Upload-Length")!
    static let uploadOffset = Self("Upload-Offset")!
    static let uploadMetadata = Self("Upload-Metadata")!
    static let uploadExpires = Self("Upload-Expires")!
    static let uploadDeferLength = Self("Upload-Defer-Length")!
    /// On the response that completes an upload (and on HEAD of a finished one): the attachment's id.
    static let parleyAttachment = Self("Parley-Attachment")!
}

/// Runs blocking file work (writes, fsync, rename, libmagic) off the request's executor.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}

/// Attachments: tus 1.0 uploads at `/api/uploads` (core, creation, creation-with-upload,
/// termination, expiration) and downloads at `/api/attachments/{id}`.
///
/// An upload belongs to one ticket and one sender (the ticket's visitor, by its bearer token, or
/// one agent, by session); anybody else gets 404. Bytes stream to `uploads/<id>`; the offset is
/// the file's size. After the last byte: sync, decide the type by content, check the widget's
/// allow-list, move to `attachments/<ticket>/<id>`, and only then append the `attachment` event.
struct UploadController {
    let services: ParleyServices
    static let tusVersion = "1.0.0"
    static let createRule = RateLimiter.Rule(burst: 20, perSecond: 0.5)
    /// Across tickets, per client IP: tickets are cheap, disk is not.
    static let createPerIPRule = RateLimiter.Rule(burst: 40, perSecond: 0.5)
    /// PATCHes of one upload (each one ends in an fsync).
    static let patchRule = RateLimiter.Rule(burst: 100, perSecond: 10)
    /// Free space kept for the ticket logs: uploads that would eat into it are refused (507).
    static let diskReserve: Int64 = 256 * 1024 * 1024
    static let octetStream = "application/offset+octet-stream"

    func addRoutes(to router: Router<ParleyContext>) {
        router.on("api/uploads", method: .options, use: discovery)
        router.post("api/uploads", use: create)
        router.head("api/uploads/:upload", use: head)
        router.patch("api/uploads/:upload", use: patch)
        router.delete("api/uploads/:upload", use: terminate)
        router.get("api/attachments/:attachment", use: download)
        router.head("api/attachments/:attachment", use: download)
    }

    var uploads: UploadStore { services.uploads }

    // MARK: errors and headers

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, offset: Int? = nil) -> APIError {
        var e = APIError(status, code, message)
        e.headers[.tusResumable] = tusVersion
        if let offset { e.headers[.uploadOffset] = "\(offset)" }
        return e
    }

    static let uploadNotFound = error(.notFound, "upload_not_found", "No such upload (it may have expired or been canceled).")

    static func map(_ e: UploadError) -> APIError {
        switch e {
        case .notFound: return uploadNotFound
        case .busy: return error(HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), "upload_busy", "This upload is still receiving another request; ask for its offset (HEAD) and try again.")
        case .finishing: return error(.conflict, "upload_finished", "This file has already been received; it can no longer be canceled.")
        case .tooMany(let n): return error(.unprocessableContent, "too_many_files", "You can send at most \(n) file\(n == 1 ? "" : "s") at a time.")
        }
    }

    func tusHeaders(_ rec: UploadRecord) -> HTTPFields {
        var h: HTTPFields = [:]
        h[.tusResumable] = Self.tusVersion
        h[.cacheControl] = "no-store"
        h[.uploadExpires] = Self.httpDate(uploads.expires(rec))
        return h
    }

    static func httpDate(_ d: Date) -> String {
        var t = time_t(d.timeIntervalSince1970), tmv = tm()
        gmtime_r(&t, &tmv)
        var buf = [Int8](repeating: 0, count: 64)
        let n = strftime(&buf, buf.count, "%a, %d %b %Y %H:%M:%S GMT", &tmv)
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Every tus request but OPTIONS names the protocol version.
    func checkVersion(_ request: Request) throws {
        guard request.headers[.tusResumable] == Self.tusVersion else {
            var e = Self.error(.preconditionFailed, "tus_version", "This server speaks tus \(Self.tusVersion): send Tus-Resumable: \(Self.tusVersion).")
            e.headers[.tusVersion] = Self.tusVersion
            throw e
        }
    }

    // MARK: who is asking

    struct Sender {
        var owner: String
        var by: EventActor
        var ticket: TicketSummary
    }

    /// The ticket's visitor (bearer token) or an agent allowed on its widget (session cookie).
    func sender(_ request: Request, ticket id: String) throws -> Sender {
        if let token = try request.bearerToken() {
            let t = try services.visitorTicket(id, token: token)
            return Sender(owner: "visitor", by: EventActor(kind: .visitor, name: t.visitorName), ticket: t)
        }
        guard let agent = try? services.signedInAgent(request) else {
            throw APIError(.unauthorized, "unauthorized", "This call needs the ticket's token (Authorization: Bearer …) or an agent session.")
        }
        // The session cookie only counts on calls from parley's own pages.
        if let origin = request.headers[.origin], !isSameOrigin(origin, request) {
            throw APIError(.forbidden, "origin_not_allowed", "Agent calls only come from parley's own pages.")
        }
        guard TicketID.isValid(id), let t = services.store.summary(id), agent.canSee(widget: t.widget) else {
            throw ParleyError.ticketNotFound
        }
        return Sender(owner: "agent:\(agent.id)", by: EventActor(kind: .agent, id: agent.id, name: agent.name), ticket: t)
    }

    /// The upload in the path, if it belongs to the caller.
    func ownUpload(_ request: Request, context: ParleyContext) throws -> UploadRecord {
        let id = try context.parameters.require("upload")
        guard let rec = uploads.record(id) else { throw Self.uploadNotFound }
        let who: Sender
        do { who = try sender(request, ticket: rec.ticket) } catch ParleyError.ticketNotFound { throw Self.uploadNotFound }
        guard who.owner == rec.owner, !uploads.isExpired(rec) else { throw Self.uploadNotFound }
        return rec
    }

    // MARK: tus

    static func discoveryHeaders(_ services: ParleyServices) -> HTTPFields {
        var h: HTTPFields = [:]
        h[.tusResumable] = tusVersion
        h[.tusVersion] = tusVersion
        h[.tusExtension] = "creation,creation-with-upload,termination,expiration"
        h[.tusMaxSize] = "\(services.config.widgets.map(\.maxFileSize).max() ?? Widget(id: "", name: "").maxFileSize)"
        return h
    }

    @Sendable func discovery(_ request: Request, context: ParleyContext) async throws -> Response {
        Response(status: .noContent, headers: Self.discoveryHeaders(services))
    }

    /// `Upload-Metadata`: comma-separated `key base64value` pairs (value optional).
    static func metadata(_ header: String?) throws -> [String: String] {
        var out: [String: String] = [:]
        guard let header, !header.trimmingCharacters(in: .whitespaces).isEmpty else { return out }
        for pair in header.split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first, !key.isEmpty else { throw bad("Upload-Metadata has an empty key.") }
            if parts.count == 2 {
                guard let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
                      let value = String(data: data, encoding: .utf8) else {
                    throw bad("Upload-Metadata value of \(key) is not base64 of UTF-8 text.")
                }
                out[String(key)] = value
            } else {
                out[String(key)] = ""
            }
        }
        return out
    }

    static func bad(_ message: String) -> APIError { error(.badRequest, "bad_request", message) }

    @Sendable func create(_ request: Request, context: ParleyContext) async throws -> Response {
        try checkVersion(request)
        guard request.headers[.uploadDeferLength] == nil else {
            throw Self.bad("Upload-Defer-Length is not supported: send Upload-Length.")
        }
        guard let lengthText = request.headers[.uploadLength], let length = Int(lengthText), length >= 0 else {
            throw Self.bad("Send Upload-Length: the file's size in bytes.")
        }
        let meta = try Self.metadata(request.headers[.uploadMetadata])
        guard let ticketID = meta["ticket"], !ticketID.isEmpty else {
            throw Self.bad("Upload-Metadata must name the ticket (key `ticket`).")
        }
        let who = try sender(request, ticket: ticketID)
        let name = FileNames.display(meta["filename"] ?? meta["name"])
        if who.ticket.status == .closed {
            throw Self.error(.conflict, "ticket_closed", "This conversation has ended. Start a new chat to send files.")
        }
        let widget = services.config.widget(who.ticket.widget) ?? Widget(id: who.ticket.widget, name: who.ticket.widget)
        guard length > 0 else { throw Self.error(.unprocessableContent, "empty_file", "\(name) is empty.") }
        guard length <= widget.maxFileSize else {
            throw Self.error(.contentTooLarge, "file_too_large",
                             "\(name) is \(FileNames.size(length)); the limit is \(FileNames.size(widget.maxFileSize)).")
        }
        try services.limiter.take("upload:\(who.ticket.id):\(who.owner)", Self.createRule)
        try services.limiter.take("upload-ip:\(context.clientIP)", Self.createPerIPRule)
        var fs = statvfs()
        if statvfs(services.layout.uploads, &fs) == 0,
           Int64(fs.f_bavail) * Int64(fs.f_frsize) - Int64(length) < Self.diskReserve {
            services.logger.warning("upload refused: low disk space", metadata: ["free": "\(Int64(fs.f_bavail) * Int64(fs.f_frsize))"])
            throw Self.error(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "insufficient_storage",
                             "The server is short of disk space and cannot take files right now.")
        }
        let uploads = self.uploads
        let rec: UploadRecord
        do {
            rec = try await blocking {
                try uploads.create(ticket: who.ticket.id, widget: widget.id, owner: who.owner, by: who.by, name: name,
                                   length: length, maxUnfinished: max(1, widget.maxFiles))
            }
        } catch let e as UploadError { throw Self.map(e) }
        var headers = tusHeaders(rec)
        headers[.location] = "/api/uploads/\(rec.id)"
        // creation-with-upload: the first bytes (often the whole small file) ride along.
        if request.headers[.contentType] == Self.octetStream {
            do {
                let (offset, attachment) = try await write(request, rec: rec, at: 0, context: context)
                headers[.uploadOffset] = "\(offset)"
                if let attachment { headers[.parleyAttachment] = attachment.id }
            } catch {
                // The client never learnt the Location: nobody could resume or cancel this upload.
                if uploads.record(rec.id)?.finishing == nil { try? await blocking { uploads.discard(rec.id) } }
                throw error
            }
        }
        return Response(status: .created, headers: headers)
    }

    @Sendable func head(_ request: Request, context: ParleyContext) async throws -> Response {
        try checkVersion(request)
        let rec = try ownUpload(request, context: context)
        var h = tusHeaders(rec)
        h[.uploadLength] = "\(rec.length)"
        h[.uploadMetadata] = "ticket \(Data(rec.ticket.utf8).base64EncodedString()),filename \(Data(rec.name.utf8).base64EncodedString())"
        if let a = rec.attachment {
            h[.uploadOffset] = "\(rec.length)"
            h[.parleyAttachment] = a.id
        } else {
            h[.uploadOffset] = "\(uploads.offset(rec.id) ?? (rec.finishing != nil ? rec.length : 0))"
        }
        return Response(status: .ok, headers: h)
    }

    @Sendable func patch(_ request: Request, context: ParleyContext) async throws -> Response {
        try checkVersion(request)
        guard request.headers[.contentType] == Self.octetStream else {
            throw Self.error(.unsupportedMediaType, "bad_content_type", "PATCH bodies are Content-Type: \(Self.octetStream).")
        }
        let rec = try ownUpload(request, context: context)
        guard let offsetText = request.headers[.uploadOffset], let offset = Int(offsetText), offset >= 0 else {
            throw Self.bad("Send Upload-Offset: where these bytes start.")
        }
        if rec.attachment != nil {
            throw Self.error(.conflict, "offset_mismatch", "This upload is already complete.", offset: rec.length)
        }
        let (now, attachment) = try await write(request, rec: rec, at: offset, context: context)
        var h = tusHeaders(rec)
        h[.uploadOffset] = "\(now)"
        if let attachment { h[.parleyAttachment] = attachment.id }
        return Response(status: .noContent, headers: h)
    }

    @Sendable func terminate(_ request: Request, context: ParleyContext) async throws -> Response {
        try checkVersion(request)
        let rec = try ownUpload(request, context: context)
        let uploads = self.uploads
        do { try await blocking { try uploads.cancel(rec.id) } } catch let e as UploadError { throw Self.map(e) }
        return Response(status: .noContent, headers: [.tusResumable: Self.tusVersion])
    }

    /// Appends the request body at `offset` (which must be the server's), then finishes the upload
    /// if that was its last byte. Returns the new offset and, when finished, the attachment.
    func write(_ request: Request, rec upload: UploadRecord, at offset: Int, context: ParleyContext) async throws -> (Int, AttachmentInfo?) {
        let uploads = self.uploads
        try services.limiter.take("patch:\(upload.id)", Self.patchRule)
        let rec: UploadRecord
        do { rec = try uploads.begin(upload.id) } catch let e as UploadError { throw Self.map(e) }
        defer { uploads.end(rec.id) }
        // Past its last byte already (an earlier finish failed half-way): finish it now.
        if let info = rec.finishing {
            guard offset == rec.length else {
                throw Self.error(.conflict, "offset_mismatch", "This upload is complete; send an empty PATCH at \(rec.length) to finish it.", offset: rec.length)
            }
            return (rec.length, try await complete(rec, info))
        }
        let path = uploads.dataPath(rec.id)
        guard let current = uploads.offset(rec.id) else { throw Self.uploadNotFound }
        guard offset == current else {
            throw Self.error(.conflict, "offset_mismatch", "This upload is at byte \(current), not \(offset): resume from there.", offset: current)
        }
        let room = rec.length - current
        if let cl = request.headers[.contentLength].flatMap(Int.init), cl > room {
            throw Self.error(.contentTooLarge, "upload_too_long", "These bytes go past the declared Upload-Length (\(rec.length)).", offset: current)
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw Self.uploadNotFound }
        defer { close(fd) }
        var written = current
        do {
            for try await buffer in request.body {
                guard !uploads.isCanceled(rec.id) else { throw Self.uploadNotFound }
                guard buffer.readableBytes <= rec.length - written else {
                    _ = ftruncate(fd, off_t(current))
                    throw Self.error(.contentTooLarge, "upload_too_long", "These bytes go past the declared Upload-Length (\(rec.length)).", offset: current)
                }
                try await blocking { try buffer.withUnsafeReadableBytes { try Durable.writeAll(fd: fd, bytes: $0, path: path) } }
                written += buffer.readableBytes
                services.metrics.uploadBytes.increment(by: Int64(buffer.readableBytes))
            }
        } catch {
            // A client that went away keeps what arrived: it resumes from HEAD's offset.
            _ = try? await blocking { fdatasync(fd) }
            if error is APIError { throw error }
            if error is ParleyError {  // our disk, not the client: no "resume" promise
                services.logger.error("upload write failed", metadata: ["ticket": "\(rec.ticket)", "error": "\(error)"])
                throw Self.error(.internalServerError, "storage_error", "The server could not store this file; please try again later.")
            }
            services.logger.info("upload interrupted", metadata: ["ticket": "\(rec.ticket)", "offset": "\(written)", "error": "\(error)"])
            throw Self.error(.badRequest, "upload_interrupted", "The upload stopped after byte \(written); resume from there (HEAD gives the offset).", offset: written)
        }
        guard !uploads.isCanceled(rec.id) else { throw Self.uploadNotFound }  // deleted while the last bytes came in
        if written > current {
            try await blocking {
                guard fdatasync(fd) == 0 else { throw ParleyError.io("cannot sync \(path): \(errnoString())") }
            }
        }
        guard written == rec.length else { return (written, nil) }
        return (written, try await finish(rec))
    }

    /// All bytes are in and synced: type by content, allow-list, move, event, done-marker.
    func finish(_ rec: UploadRecord) async throws -> AttachmentInfo {
        let uploads = self.uploads, sniffer = services.sniffer
        guard !uploads.isCanceled(rec.id) else { throw Self.uploadNotFound }
        let path = uploads.dataPath(rec.id)
        let type: String
        do { type = try await blocking { try sniffer.mimeType(ofFile: path) } } catch {
            if uploads.isCanceled(rec.id) { throw Self.uploadNotFound }  // deleted while it was read
            throw error
        }
        let allowed = services.config.widget(rec.widget)?.allowedTypes ?? MimePolicy.defaultAllowed
        guard MimePolicy.allows(type, patterns: allowed) else {
            try await blocking { uploads.discard(rec.id) }
            services.logger.notice("upload refused", metadata: ["ticket": "\(rec.ticket)", "type": "\(type)"])
            var e = Self.error(.unsupportedMediaType, "type_not_allowed", "\(rec.name) is \(type), which this chat does not accept.")
            e.fields = ["type": type]  // so a page can say it in its visitor's language
            throw e
        }
        return try await complete(rec, AttachmentInfo(id: rec.id, name: rec.name, size: rec.length, type: type))
    }

    /// Move, event, done-marker: each step idempotent (the event carries the upload id as its
    /// client id, so the store never doubles it), so a failure half-way is simply retried.
    func complete(_ rec: UploadRecord, _ info: AttachmentInfo) async throws -> AttachmentInfo {
        try await services.completeUpload(rec, info)
        return info
    }

    // MARK: downloads

    static let attachmentNotFound = APIError(.notFound, "attachment_not_found", "No such attachment.")

    @Sendable func download(_ request: Request, context: ParleyContext) async throws -> Response {
        let id = try context.parameters.require("attachment")
        guard let ticket = AttachmentID.ticket(of: id) else { throw Self.attachmentNotFound }
        do { _ = try sender(request, ticket: ticket) } catch ParleyError.ticketNotFound { throw Self.attachmentNotFound }
        let events = try await services.store.events(ticket: ticket)
        guard let info = events.last(where: { $0.type == EventType.attachment && $0.attachment?.id == id })?.attachment else {
            throw Self.attachmentNotFound
        }
        let path = uploads.attachmentPath(ticket: ticket, id: id)
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw APIError(.gone, "attachment_missing", "\(info.name) is missing from the server's data folder.")
        }
        let size = Int(st.st_size)
        let etag = "\"\(id)\""
        var h: HTTPFields = [:]
        h[.contentType] = info.type
        let inline = request.uri.queryParameters.get("inline") == "1" && MimePolicy.isRasterImage(info.type)
        h[.contentDisposition] = Self.contentDisposition(inline ? "inline" : "attachment", name: info.name)
        h[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        h[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        h[.eTag] = etag
        h[.acceptRanges] = "bytes"
        h[.cacheControl] = "private, max-age=31536000, immutable"
        if let inm = request.headers[.ifNoneMatch], inm.split(separator: ",").contains(where: { tag in
            let t = tag.trimmingCharacters(in: .whitespaces)
            return t == "*" || t == etag || t == "W/" + etag  // weak comparison, RFC 9110 13.1.2
        }) {
            return Response(status: .notModified, headers: h)
        }
        var range: ClosedRange<Int>? = nil
        if let r = request.headers[.range], request.headers[.ifRange].map({ $0 == etag }) ?? true {
            switch Self.byteRange(r, size: size) {
            case .whole: break
            case .part(let p): range = p
            case .unsatisfiable:
                var e = APIError(.rangeNotSatisfiable, "range_not_satisfiable", "The requested range is outside the file (\(size) bytes).")
                e.headers[.contentRange] = "bytes */\(size)"
                e.headers[.eTag] = etag
                throw e
            }
        }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        let span = range ?? 0...max(0, size - 1)
        if let range { h[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)" }
        h[.contentLength] = "\(size == 0 ? 0 : span.count)"
        if request.method == .head || size == 0 {
            return Response(status: status, headers: h)
        }
        let body = try await FileIO().loadFile(path: path, range: span, context: context)
        return Response(status: status, headers: h, body: body)
    }

    enum RangeAnswer: Equatable { case whole, part(ClosedRange<Int>), unsatisfiable }

    /// One `bytes=` range (first-last, first-, -suffix). Several ranges, or a unit other than
    /// bytes, get the whole file (allowed by RFC 9110); a malformed header is ignored likewise.
    static func byteRange(_ header: String, size: Int) -> RangeAnswer {
        let h = header.trimmingCharacters(in: .whitespaces)
        guard h.lowercased().hasPrefix("bytes="), !h.contains(",") else { return .whole }
        let spec = h.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let a = parts[0].trimmingCharacters(in: .whitespaces), b = parts[1].trimmingCharacters(in: .whitespaces)
        if a.isEmpty {
            guard let n = Int(b), n >= 0 else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - n)...(size - 1))
        }
        guard let first = Int(a), first >= 0 else { return .whole }
        let last: Int
        if b.isEmpty { last = size - 1 } else {
            guard let l = Int(b), l >= first else { return .whole }
            last = min(l, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .part(first...last)
    }

    /// RFC 6266: an ASCII fallback (`filename`) and the exact name in RFC 8187 form (`filename*`).
    static func contentDisposition(_ kind: String, name: String) -> String {
        let fallback = String(name.unicodeScalars.map { u -> Character in
            (u.value >= 0x20 && u.value < 0x7F && u != "\"" && u != "\\" && u != "%" && u != ";") ? Character(u) : "_"
        })
        let attrChars = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~".utf8)
        var encoded = ""
        for b in name.utf8 {
            if attrChars.contains(b) { encoded.append(Character(UnicodeScalar(b))) } else { encoded += String(format: "%%%02X", b) }
        }
        return "\(kind); filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}
