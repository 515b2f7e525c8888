import Hummingbird
import NIOCore

/// The request context of every Parley route: Hummingbird's core storage plus the peer address
/// (for rate limits).
public struct ParleyContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// JSON bodies are small; uploads go through tus, not here.
    public var maxUploadSize: Int { 64 * 1024 }

    /// The client's IP as a rate-limit key.
    public var clientIP: String { remoteAddress?.ipAddress ?? "unknown" }
}
