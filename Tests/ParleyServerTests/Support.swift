import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ParleyCore
@testable import ParleyServer
import Testing

/// A temp data folder and the services on it; removed at deinit.
final class TestEnv: @unchecked Sendable {
    let dir: String
    let services: ParleyServices

    init(syncCalls: SyncCalls = .live, _ tweak: (inout ServerSettings) -> Void = { _ in }) throws {
        setenv("PARLEY_BCRYPT_COST", "4", 1)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-test-\(UUID().uuidString)").path
        var settings = ServerSettings()
        settings.dataDirectory = dir
        settings.port = 0
        settings.publicDirectory = RepoPaths.root + "/Public"
        settings.heartbeatSeconds = 0.2
        tweak(&settings)
        var logger = Logger(label: "parley-test")
        logger.logLevel = .critical
        services = try ParleyServices(settings: settings, logger: logger, syncCalls: syncCalls)
    }

    deinit {
        services.shutdown()
        try? FileManager.default.removeItem(atPath: dir)
    }

    var app: some ApplicationProtocol { buildApplication(services: services) }

    /// Every ticket log's lines, concatenated.
    func logLines() -> [String] {
        ((try? TicketStore.logPaths(layout: services.layout)) ?? []).flatMap { path in
            (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        }
    }

    @discardableResult
    func addAgent(_ email: String, role: Agent.Role = .agent, widgets: [String] = ["demo"]) throws -> Agent {
        try services.config.addAgent(email: email, name: email.components(separatedBy: "@")[0].capitalized, role: role,
                                     password: "correct horse battery", widgets: widgets)
    }
}

enum RepoPaths {
    /// The package root, from this file's path (Tests/ParleyServerTests/Support.swift).
    static let root: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var binary: String { ProcessInfo.processInfo.environment["PARLEY_BIN"] ?? root + "/.build/debug/parley" }
}

/// JSON helpers for tests.
func object(_ r: TestResponse) throws -> [String: Any] {
    let any = try JSONSerialization.jsonObject(with: Data(buffer: r.body))
    return try #require(any as? [String: Any], "expected a JSON object, got \(String(buffer: r.body))")
}

func object(_ data: Data) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

extension [String: Any] {
    func dict(_ k: String) -> [String: Any]? { self[k] as? [String: Any] }
    func list(_ k: String) -> [[String: Any]] { self[k] as? [[String: Any]] ?? [] }
    func str(_ k: String) -> String? { self[k] as? String }
    func int(_ k: String) -> Int? { self[k] as? Int }
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

extension TestClientProtocol {
    func post(_ uri: String, _ json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = jsonHeaders
        h.append(contentsOf: headers)
        return try await execute(uri: uri, method: .post, headers: h, body: ByteBuffer(string: json))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }

    /// Starts a ticket on the demo widget; returns its id and visitor token.
    func startTicket(name: String = "Ann", email: String = "ann@example.com", message: String = "Hello there",
                     widget: String = "demo") async throws -> (id: String, token: String) {
        let r = try await post("/api/widgets/\(widget)/tickets",
                               #"{"fields":{"name":"\#(name)","email":"\#(email)","message":"\#(message)"}}"#)
        #expect(r.status == .created, "\(String(buffer: r.body))")
        let o = try object(r)
        return (try #require(o.dict("ticket")?.str("id")), try #require(o.str("token")))
    }

    /// Logs an agent in and returns the Cookie header to send.
    func login(_ email: String, password: String = "correct horse battery") async throws -> HTTPFields {
        let r = try await post("/api/agent/login", #"{"email":"\#(email)","password":"\#(password)"}"#)
        #expect(r.status == .ok, "\(String(buffer: r.body))")
        let setCookie = try #require(r.headers[.setCookie])
        let pair = try #require(setCookie.split(separator: ";").first)
        return [.cookie: String(pair)]
    }
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

func errorCode(_ r: TestResponse) -> String? {
    (try? object(r))?.dict("error")?.str("code")
}
