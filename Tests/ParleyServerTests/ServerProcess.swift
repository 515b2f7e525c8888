import Foundation
import Synchronization
import Testing

/// A real `parley serve` process on a free port, for tests that kill, restart or talk raw HTTP.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let dataDir: String
    private(set) var port = 0
    private let log = LogBox()

    /// Starts the server and returns once it logged the port it listens on.
    init(dataDir: String, extraArgs: [String] = [], env: [String: String] = [:]) throws {
        self.dataDir = dataDir
        process.executableURL = URL(fileURLWithPath: RepoPaths.binary)
        process.arguments = ["serve", "--data", dataDir, "--host", "127.0.0.1", "--port", "0",
                             "--public", RepoPaths.root + "/Public"] + extraArgs
        var environment = ProcessInfo.processInfo.environment
        environment["PARLEY_BCRYPT_COST"] = "4"
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Read the log line by line until the listening line names the port; keep draining after.
        let handle = pipe.fileHandleForReading
        var pending = ""
        while port == 0 {
            let data = handle.availableData
            if data.isEmpty {
                throw RawError(description: "parley exited before listening: \(pending)")
            }
            pending += String(decoding: data, as: UTF8.self)
            if let line = pending.split(separator: "\n").first(where: { $0.contains("parley is listening") }),
               let r = line.range(of: #"port=(\d+)"#, options: .regularExpression) {
                port = Int(line[r].dropFirst(5)) ?? 0
            }
        }
        log.text.withLock { $0 = pending }
        let log = self.log
        Thread.detachNewThread {
            while true {
                let d = handle.availableData
                if d.isEmpty { return }
                log.text.withLock { $0 += String(decoding: d, as: UTF8.self) }
            }
        }
    }

    var output: String { log.text.withLock { $0 } }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

    func connect() throws -> RawConnection { try RawConnection(port: port) }

    /// Starts a ticket on the demo widget.
    func startTicket(_ c: RawConnection, name: String = "Ann") throws -> (id: String, token: String) {
        let r = try c.request("POST", "/api/widgets/demo/tickets",
                              body: #"{"fields":{"name":"\#(name)","email":"\#(name.lowercased())@example.com","message":"hello"}}"#)
        guard r.status == 201 else { throw RawError(description: "start ticket: \(r.status) \(r.text)") }
        let o = try r.json()
        return (try #require((o["ticket"] as? [String: Any])?["id"] as? String), try #require(o["token"] as? String))
    }
}

/// Runs the parley binary with arguments (and optional stdin); returns exit code and output.
func runParley(_ args: [String], stdin: String? = nil) throws -> (code: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: RepoPaths.binary)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment["PARLEY_BCRYPT_COST"] = "4"
    p.environment = environment
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

func tempDataDir() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("parley-proc-\(UUID().uuidString)").path
}

final class LogBox: Sendable { let text = Mutex("") }
