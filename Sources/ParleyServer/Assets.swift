import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore
import Synchronization

/// The files of `Public/`, held in memory with their gzip form, ETag and version, and re-read
/// when a file changes on disk (so editing a page during `make run` needs no restart).
final class AssetStore: Sendable {
    struct Asset: Sendable {
        let body: ByteBuffer
        let gzip: ByteBuffer?
        let etag: String
        /// First 12 hex digits of the content's SHA-256: `?v=` in versioned URLs.
        let version: String
        var gzipETag: String { "\"\(etag.dropFirst().dropLast())-gz\"" }
        let contentType: String
        fileprivate let key: FileStamp
    }

    let root: String
    private let cache = Mutex<[String: Asset]>([:])

    init(root: String) { self.root = root }

    /// The asset at `relative` (already checked by `AssetStore.relativePath`), or nil.
    func asset(_ relative: String) -> Asset? {
        let path = "\(root)/\(relative)"
        guard let key = FileStamp(path: path), key.isRegular else {
            cache.withLock { _ = $0.removeValue(forKey: relative) }
            return nil
        }
        if let hit = cache.withLock({ $0[relative] }), hit.key == key { return hit }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](data)
        let digest = Tokens.hex(SHA256.hash(data: bytes))
        let type = Self.contentType(relative)
        let packed = Self.compressible(type) && bytes.count > 256 ? Gzip.compress(bytes).map { ByteBuffer(bytes: $0) } : nil
        let asset = Asset(body: ByteBuffer(bytes: bytes), gzip: packed, etag: "\"\(digest.prefix(32))\"",
                          version: String(digest.prefix(12)), contentType: type, key: key)
        cache.withLock { $0[relative] = asset }
        return asset
    }

    /// The versioned URL path of an asset (`/widget-chat.js?v=…`), or the bare path if it is missing.
    func versionedPath(_ relative: String) -> String {
        guard let a = asset(relative) else { return "/\(relative)" }
        return "/\(relative)?v=\(a.version)"
    }

    /// Maps a URL path to a file under the root: `/` → `index.html`; every segment must be a plain
    /// name (letters, digits, `.`, `_`, `-`, not starting with a dot). Anything else is not an asset.
    static func relativePath(_ urlPath: String) -> String? {
        var path = urlPath
        if path.hasSuffix("/") { path += "index.html" }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !segments.isEmpty, segments.count <= 4 else { return nil }
        for s in segments {
            guard !s.isEmpty, s.count <= 100, s.first != ".",
                  s.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
                                      || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
            else { return nil }
        }
        return segments.joined(separator: "/")
    }

    static func contentType(_ path: String) -> String {
        switch path.split(separator: ".").last?.lowercased() ?? "" {
        case "html": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json": return "application/json; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "webp": return "image/webp"
        case "ico": return "image/x-icon"
        case "txt", "md": return "text/plain; charset=utf-8"
        case "woff2": return "font/woff2"
        default: return "application/octet-stream"
        }
    }

    static func compressible(_ type: String) -> Bool {
        type.hasPrefix("text/") || type.hasPrefix("application/json") || type == "image/svg+xml"
    }
}

/// Serves `Public/` from the asset store: ETag and `If-None-Match`, gzip when the client accepts
/// it, and cache lifetimes by kind — a versioned URL (`?v=` equal to the content's version) is
/// immutable for a year, the loader `/widget.js` (its URL sits in shops' pages) is cached for five
/// minutes, and everything else is revalidated on each use.
struct AssetMiddleware: RouterMiddleware {
    typealias Context = ParleyContext
    let assets: AssetStore

    static let loaderMaxAge = 300

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head, !request.uri.path.hasPrefix("/api/"),
              let relative = AssetStore.relativePath(request.uri.path),
              let asset = assets.asset(relative) else {
            return try await next(request, context)
        }
        // The gzip body is a different representation: its own ETag (RFC 9110 §8.8.3).
        let gzip = asset.gzip != nil && Self.acceptsGzip(request.headers[.acceptEncoding])
        let etag = gzip ? asset.gzipETag : asset.etag
        var headers: HTTPFields = [.eTag: etag, .xContentTypeOptions: "nosniff"]
        if let v = request.uri.queryParameters.get("v"), v == asset.version {
            headers[.cacheControl] = "public, max-age=31536000, immutable"
        } else if relative == "widget.js" {
            headers[.cacheControl] = "public, max-age=\(Self.loaderMaxAge)"
        } else {
            headers[.cacheControl] = "no-cache"
        }
        if asset.gzip != nil { headers[.vary] = "Accept-Encoding" }
        if let inm = request.headers[.ifNoneMatch], Self.matches(ifNoneMatch: inm, etag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        var body = asset.body
        if gzip, let packed = asset.gzip {
            headers[.contentEncoding] = "gzip"
            body = packed
        }
        if request.method == .head {
            headers[.contentLength] = "\(body.readableBytes)"
            return Response(status: .ok, headers: headers, body: .init())
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// `If-None-Match`: `*` or a list of (possibly weak) tags, one of them ours.
    static func matches(ifNoneMatch: String, etag: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { raw in
            let t = raw.trimmingCharacters(in: .whitespaces)
            return t == "*" || t == etag || t == "W/\(etag)"
        }
    }

    /// Whether `Accept-Encoding` allows gzip (and does not refuse it with `q=0`).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = pieces.first, coding == "gzip" || coding == "x-gzip" else { continue }
            let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return q > 0
        }
        return false
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}
