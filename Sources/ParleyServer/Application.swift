import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import Logging
import NIOCore
import ParleyCore
import ServiceLifecycle

/// Builds the application `parley serve` runs; tests call the same builder with port 0.
public func buildApplication(services: ParleyServices, onRunning: (@Sendable (Int) async -> Void)? = nil) -> some ApplicationProtocol {
    let settings = services.settings
    let logger = services.logger
    let idleMillis = Int64(settings.idleTimeoutSeconds * 1000)
    let idle = Duration.milliseconds(idleMillis)
    let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .milliseconds(idleMillis)))
    // With TLS: HTTP/2 for browsers that offer it (ALPN), HTTP/1.1 for the rest; the same idle
    // timeout for both (a socket that never finishes its handshake or request is closed).
    let server = settings.tlsConfiguration.flatMap {
        try? HTTPServerBuilder.http2Upgrade(tlsConfiguration: $0,
                                            configuration: .init(idleTimeout: idle, streamConfiguration: .init(idleTimeout: .milliseconds(idleMillis))))
    } ?? http1
    var app = Application(
        router: buildRouter(services: services),
        server: server,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "parley"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? settings.port
            logger.notice("parley is listening", metadata: ["url": "\(settings.tls ? "https" : "http")://\(settings.host):\(port)/", "port": "\(port)"])
            if let token = services.setupToken {
                let host = settings.host == "0.0.0.0" || settings.host == "::" ? "localhost" : settings.host
                let base = settings.publicURL ?? "\(settings.tls ? "https" : "http")://\(host):\(port)"
                logger.notice("no admin yet: create the first admin at \(base)/setup?token=\(token)")
            }
            await onRunning?(port)
        },
        logger: logger
    )
    app.addServices(HeartbeatService(services: services), UploadSweeper(services: services))
    return app
}

/// Middleware and route groups.
public func buildRouter(services: ParleyServices) -> Router<ParleyContext> {
    let router = Router(context: ParleyContext.self)
    router.add(middleware: ForwardedMiddleware(trusted: services.settings.trustedProxies, tls: services.settings.tls))
    router.add(middleware: RequestLogMiddleware(metrics: services.metrics))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: VisitorCORSMiddleware(services: services))
    router.add(middleware: TusHeaderMiddleware())
    router.add(middleware: AgentOriginMiddleware(publicURL: services.settings.publicURL))
    router.add(middleware: AssetMiddleware(assets: services.assets))

    router.get("healthz") { _, _ -> Response in
        if let reason = services.store.unavailableReason {
            throw APIError(.serviceUnavailable, "store_unavailable", "The store refuses writes: \(reason)")
        }
        return JSONResponse.make { w in w.beginObject(); w.key("status"); w.string("ok"); w.endObject() }
    }
    // Prometheus text format; no personal data in any label.
    router.get("metrics") { request, _ -> Response in
        // Exactly /metrics: a proxy rule that guards that path guards all of it.
        guard request.uri.path == "/metrics" else { throw APIError(.notFound, "not_found", "No such page.") }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: services.metrics.render(services))))
    }
    // The API's description, kept true by a test that compares it with these routes.
    router.get("api/openapi.json") { _, _ -> Response in
        let full = "\(services.settings.publicDirectory)/openapi.json"
        guard let data = FileManager.default.contents(atPath: full) else { throw APIError(.notFound, "not_found", "No API description installed.") }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    for (path, file) in [("setup", "setup.html"), ("agent", "agent.html"), ("admin", "admin.html"), ("admin/preview", "admin-preview.html")] {
        router.get(RouterPath(stringLiteral: path)) { _, _ -> Response in
            let full = "\(services.settings.publicDirectory)/\(file)"
            guard let data = FileManager.default.contents(atPath: full) else { throw APIError(.notFound, "not_found", "No such page.") }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
    if services.settings.benchEndpoints {
        struct Noop: Decodable { var id: String; var text: String? }
        router.post("api/bench/noop") { request, context -> Response in
            _ = try await request.decodeJSON(Noop.self, context: context)
            return JSONResponse.make { w in w.beginObject(); w.key("ok"); w.bool(true); w.endObject() }
        }
    }
    VisitorController(services: services).addRoutes(to: router)
    AgentController(services: services).addRoutes(to: router)
    AdminController(services: services).addRoutes(to: router)
    UploadController(services: services).addRoutes(to: router)
    return router
}

/// Sends heartbeats on every live stream.
struct HeartbeatService: Service {
    let services: ParleyServices
    func run() async throws {
        let interval = services.settings.heartbeatSeconds
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                services.hub.heartbeat()
            }
        }
        services.hub.finishAll()
    }
}

/// Now and every `uploadSweepSeconds`: finishes uploads left past their last byte (a crash, a
/// failure half-way), then removes expired ones.
struct UploadSweeper: Service {
    let services: ParleyServices
    func run() async throws {
        let interval = services.settings.uploadSweepSeconds
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await services.finishPendingAttachments()
                let uploads = services.uploads
                let removed = (try? await blocking { uploads.sweep() }) ?? 0
                if removed > 0 { services.logger.info("swept expired uploads", metadata: ["removed": "\(removed)"]) }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }
}

/// Allowed origins per widget on the visitor API (`/api/widgets/…`, `/api/tickets/…`,
/// `/api/uploads…`, `/api/attachments/…`): a browser on another origin is refused unless the
/// widget lists it; preflights are answered here.
struct VisitorCORSMiddleware: RouterMiddleware {
    typealias Context = ParleyContext
    let services: ParleyServices
    static let sections: Set<Substring> = ["widgets", "tickets", "uploads", "attachments"]
    /// What the widget's scripts may read of a cross-origin response (tus and downloads).
    static let exposed = "Location, Upload-Offset, Upload-Length, Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Parley-Attachment, Content-Disposition, Content-Length, Content-Range, ETag, Retry-After"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let parts = request.uri.path.split(separator: "/")
        guard parts.count >= 2, parts[0] == "api", Self.sections.contains(parts[1]),
              parts.count >= 3 || parts[1] == "uploads" else {
            return try await next(request, context)
        }
        guard let origin = request.headers[.origin], !isSameOrigin(origin, request) else {
            // The answer depends on Origin even without one: a browser must not reuse a cached
            // same-origin answer (no CORS grant) for a shop's cross-origin fetch.
            do {
                var r = try await next(request, context)
                r.headers[.vary] = "Origin"
                return r
            } catch {
                var e = APIError.from(error)
                e.headers[.vary] = "Origin"
                throw e
            }
        }
        guard allowed(origin, parts, request) else {
            throw APIError(.forbidden, "origin_not_allowed", "This site (\(origin)) is not allowed to use this chat widget.")
        }
        var response: Response
        if request.method == .options {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, DELETE, HEAD, PATCH, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Last-Event-ID, Range, If-Range, If-None-Match, Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata"
            response.headers[.accessControlMaxAge] = "600"
            if parts[1] == "uploads" {  // tus discovery from another origin
                response.headers.append(contentsOf: UploadController.discoveryHeaders(services))
            }
        } else {
            do { response = try await next(request, context) } catch {
                response = try APIError.from(error).response(from: request, context: context)
            }
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlExposeHeaders] = Self.exposed
        response.headers[.vary] = "Origin"
        return response
    }

    /// Whether the widget behind this request lists `origin`. Requests that name no existing
    /// ticket or upload pass, so the page can read the 404 (or 400) the route answers; that
    /// says nothing a random id would not.
    func allowed(_ origin: String, _ parts: [Substring], _ request: Request) -> Bool {
        func ticket(_ id: String) -> Bool {
            guard let summary = services.store.summary(id) else { return true }
            return services.config.widget(summary.widget)?.allows(origin: origin) ?? false
        }
        switch parts[1] {
        case "widgets":
            return services.config.widget(String(parts[2]))?.allows(origin: origin) ?? false
        case "tickets":
            return ticket(String(parts[2]))
        case "attachments":
            return AttachmentID.ticket(of: String(parts[2])).map(ticket) ?? true
        default:  // uploads
            if parts.count >= 3 {
                return services.uploads.record(String(parts[2])).map { ticket($0.ticket) } ?? true
            }
            // Creation: the ticket is in the metadata. A preflight carries none; the real
            // request is checked.
            guard request.method != .options,
                  let meta = try? UploadController.metadata(request.headers[.uploadMetadata]),
                  let id = meta["ticket"] else { return true }
            return ticket(id)
        }
    }
}

/// Every answer under `/api/uploads`, errors included (401, 404, 429…), names the tus version.
struct TusHeaderMiddleware: RouterMiddleware {
    typealias Context = ParleyContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/uploads") else { return try await next(request, context) }
        do {
            var r = try await next(request, context)
            r.headers[.tusResumable] = UploadController.tusVersion
            return r
        } catch {
            var e = APIError.from(error)
            e.headers[.tusResumable] = UploadController.tusVersion
            throw e
        }
    }
}

/// The agent API takes no cross-site calls: a request with a foreign Origin is refused
/// (SameSite=Strict cookies already keep the session out of them).
struct AgentOriginMiddleware: RouterMiddleware {
    typealias Context = ParleyContext
    /// Behind a proxy that rewrites `Host`, the public URL is our origin too.
    let publicURL: String?
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/api/agent/") || path.hasPrefix("/api/admin/") || path.hasPrefix("/api/test/") || path == "/api/setup" || path == "/api/invite",
           let origin = request.headers[.origin], !isSameOrigin(origin, request), origin.lowercased() != publicURL?.lowercased() {
            throw APIError(.forbidden, "origin_not_allowed", "The agent API only accepts calls from its own pages.")
        }
        return try await next(request, context)
    }
}

func isSameOrigin(_ origin: String, _ request: Request) -> Bool {
    guard let host = request.head.authority else { return false }
    guard let url = URL(string: origin), let oh = url.host else { return false }
    let originHost = url.port.map { "\(oh):\($0)" } ?? oh
    return originHost.lowercased() == host.lowercased()
}

/// One log line per request: method, route pattern, path (no query: it may hold a token; no body,
/// so no message text), status, duration.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ParleyContext
    let metrics: ParleyMetrics
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let r = try await next(request, context)
            log(request, context, r.status.code, start)
            return r
        } catch {
            log(request, context, (error as? any HTTPResponseError)?.status.code ?? 500, start)
            throw error
        }
    }
    private func log(_ request: Request, _ context: Context, _ status: Int, _ start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        // The route pattern, never the path itself (it holds ticket ids); assets and 404s share one label.
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, duration: elapsed)
        let ms = elapsed.components
        let millis = Double(ms.seconds) * 1000 + Double(ms.attoseconds) / 1e15
        // Refusals (401, 403, 413, 429…) are warnings, server faults errors; the rest is info.
        let level: Logger.Level = status >= 500 ? .error : [401, 403, 413, 415, 429].contains(status) ? .warning : .info
        context.logger.log(level: level, "request", metadata: [
            "method": "\(request.method.rawValue)", "endpoint": "\(context.endpointPath ?? "-")", "path": "\(request.uri.path)",
            "status": "\(status)", "ms": "\(String(format: "%.1f", millis))"])
    }
}
