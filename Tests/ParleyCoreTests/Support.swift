import Foundation
import Logging
import Synchronization
import Testing
@testable import ParleyCore

/// A fresh folder under the system temp directory, removed by `remove()`.
struct TempFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("parley-core-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var layout: DataLayout { DataLayout(root: path) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A logger that drops everything: recovery warnings are expected in these tests.
let quietLogger = Logger(label: "parley-core-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// 2025-11-21T13:30:45.000Z: tickets created "now" land in `tickets/2025-11/`.
let fixedNow = Date(timeIntervalSince1970: 1_763_731_845)

/// bcrypt at cost 12 takes ~250 ms a hash; tests lower it once, before any hashing.
let fastBcrypt: Void = { setenv("PARLEY_BCRYPT_COST", "4", 1); return () }()

/// A store on `folder`, loaded, with a fixed clock.
func makeStore(_ folder: TempFolder, syncCalls: SyncCalls = .live, observer: CommitObserver? = nil) throws -> TicketStore {
    let store = try TicketStore(layout: folder.layout, logger: quietLogger, syncCalls: syncCalls, now: { fixedNow },
                                observer: observer)
    try store.load()
    return store
}

func openedDraft(widget: String = "demo", userAgent: String = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
                 fields: [String: String] = ["name": "Ann", "email": "Ann@Example.com"]) -> TicketEvent {
    var e = TicketEvent(type: EventType.opened, by: EventActor(kind: .visitor, name: "Ann"))
    e.widget = widget
    e.fields = fields
    e.page = PageInfo(url: "https://shop.example/cart", title: "Cart")
    e.language = "en"
    e.userAgent = userAgent
    return e
}

func visitorMessage(_ text: String, clientId: String? = nil) -> TicketEvent {
    var e = TicketEvent(type: EventType.message, by: EventActor(kind: .visitor, name: "Ann"))
    e.text = text
    e.clientId = clientId
    return e
}

func agentMessage(_ text: String, agent: String = "a_1") -> TicketEvent {
    var e = TicketEvent(type: EventType.message, by: EventActor(kind: .agent, id: agent, name: "Bob"))
    e.text = text
    return e
}

/// A complete log line (with its newline) as the writer would produce it.
func logLine(seq: Int, type: String = EventType.message, text: String? = "hi") -> [UInt8] {
    var e = TicketEvent(type: seq == 1 ? EventType.opened : type, by: EventActor(kind: .visitor))
    e.seq = seq
    e.at = "2025-11-21T13:30:45.000Z"
    if seq != 1 { e.text = text }
    return e.json(forLog: true) + [0x0A]
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func readBytes(_ path: String) -> [UInt8] {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
}

func appendBytes(_ path: String, _ b: [UInt8]) throws {
    let h = try #require(FileHandle(forWritingAtPath: path))
    defer { try? h.close() }
    try h.seekToEnd()
    try h.write(contentsOf: Data(b))
}

/// The log's lines (without newlines) decoded by Foundation's JSON parser, independent of ours.
func jsonLines(_ path: String) throws -> [[String: Any]] {
    let text = String(decoding: readBytes(path), as: UTF8.self)
    return try text.split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

func files(in dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

func isStoreUnavailable(_ e: ParleyError?) -> Bool {
    if case .storeUnavailable = e { return true }
    return false
}

func invalidFields(_ e: ParleyError?) -> [String: String]? {
    if case .invalid(let f, _) = e { return f }
    return nil
}

/// A Sendable on/off switch for fake sync calls.
final class Switch: Sendable {
    private let state = Mutex(false)
    var isOn: Bool { state.withLock { $0 } }
    func set(_ v: Bool) { state.withLock { $0 = v } }
}

/// A Sendable counter.
final class Counter: Sendable {
    private let state = Mutex(0)
    var value: Int { state.withLock { $0 } }
    func increment() { state.withLock { $0 += 1 } }
}
