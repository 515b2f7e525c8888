import Foundation
import Hummingbird
import HummingbirdHTTP2
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle

/// TLS from PEM files (a certificate chain, e.g. Let's Encrypt's fullchain.pem, and its key).
public func loadTLS(certificate: String, key: String) throws -> TLSConfiguration {
    let chain: [NIOSSLCertificate]
    do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
        throw ServeError("cannot read the TLS certificate \(certificate): \(error)")
    }
    guard !chain.isEmpty else { throw ServeError("no certificate in \(certificate)") }
    let privateKey: NIOSSLPrivateKey
    do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
        throw ServeError("cannot read the TLS key \(key): \(error)")
    }
    return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
}

public struct ServeError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Runs the server until SIGTERM or SIGINT: then it stops accepting, lets requests in flight
/// finish (live streams are told to come back later), and gives up on what is left after the
/// shutdown timeout, so a stop is always bounded.
public func runServer(services: ParleyServices, logger: Logger) async throws {
    let app = buildApplication(services: services)
    var config = ServiceGroupConfiguration(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    config.maximumGracefulShutdownDuration = .milliseconds(Int64(services.settings.shutdownTimeoutSeconds * 1000))
    try await ServiceGroup(configuration: config).run()
}
