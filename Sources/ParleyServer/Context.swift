import Hummingbird
import NIOCore

/// The request context of every Parley route: Hummingbird's core storage plus the peer address
/// (for rate limits).
public struct ParleyContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    /// The client behind a trusted proxy (`X-Forwarded-For`), set by `ForwardedMiddleware`.
    public var forwardedClient: String?
    /// The client reached a TLS front: the server's own TLS, or a trusted proxy's `X-Forwarded-Proto: https`.
    public var isHTTPS = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// JSON bodies are small; uploads go through tus, not here.
    public var maxUploadSize: Int { 64 * 1024 }

    /// The client's IP as a rate-limit key: the peer, or the client a trusted proxy names.
    public var clientIP: String { forwardedClient ?? remoteAddress?.ipAddress ?? "unknown" }
}

/// Believes `X-Forwarded-For` and `X-Forwarded-Proto` only from the trusted proxies (by default
/// loopback: nginx or Caddy on the same machine); from anyone else they are ignored, so a client
/// cannot pick its own rate-limit key or claim TLS.
struct ForwardedMiddleware: RouterMiddleware {
    typealias Context = ParleyContext
    let trusted: Set<String>
    let tls: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.isHTTPS = tls
        guard let peer = context.remoteAddress?.ipAddress, Self.matches(peer, trusted) else { return try await next(request, context) }
        if let proto = request.headers[.forwardedProto] { context.isHTTPS = tls || proto.lowercased() == "https" }
        if let chain = request.headers[.forwardedFor] {
            // The nearest address that is not one of our proxies is the client.
            let hops = chain.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            context.forwardedClient = hops.last { !Self.matches($0, trusted) } ?? hops.first
        }
        return try await next(request, context)
    }

    static func matches(_ ip: String, _ trusted: Set<String>) -> Bool {
        let plain = ip.hasPrefix("::ffff:") ? String(ip.dropFirst(7)) : ip
        return trusted.contains(ip) || trusted.contains(plain)
    }
}
