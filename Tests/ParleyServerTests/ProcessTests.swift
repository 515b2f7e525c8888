import Foundation
import Synchronization
import Testing

/// Tests against the real `parley` binary: crashes, restarts, raw sockets, streams, the CLI.
@Suite(.serialized) struct ProcessTests {
    @Test func everyAcknowledgedMessageSurvivesKillDuringConcurrentSends() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(dataDir: dir, env: ["PARLEY_RATE_LIMITS": "off"])
        let tickets = try (0..<8).map { i in try server.startTicket(try server.connect(), name: "V\(i)") }
        let acked = Mutex<[String: [String]]>([:])  // ticket → acknowledged client ids
        let progress = DispatchSemaphore(value: 0)
        let port = server.port
        // Senders run on their own threads until the server dies under them.
        let done = DispatchGroup()
        for (i, t) in tickets.enumerated() {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                guard let c = try? RawConnection(port: port) else { return }
                for k in 0..<100_000 {
                    let id = "s\(i)-\(k)"
                    guard let r = try? c.request("POST", "/api/tickets/\(t.id)/messages",
                                                 headers: ["Authorization": "Bearer \(t.token)"],
                                                 body: #"{"id":"\#(id)","text":"message \#(k)"}"#) else { return }
                    if r.status == 201 { acked.withLock { $0[t.id, default: []].append(id) }; progress.signal() }
                }
            }
        }
        try await onThread {
            for _ in 0..<300 { progress.wait() }  // at least 300 acknowledged writes, then crash
            server.kill9()
            done.wait()
        }
        let acknowledged = acked.withLock { $0 }
        #expect(acknowledged.values.map(\.count).reduce(0, +) >= 300)

        let restarted = try ServerProcess(dataDir: dir)
        let c = try restarted.connect()
        for t in tickets {
            let r = try c.request("GET", "/api/tickets/\(t.id)/events", headers: ["Authorization": "Bearer \(t.token)"])
            #expect(r.status == 200)
            let events = (try r.json()["events"] as? [[String: Any]]) ?? []
            let seqs = events.compactMap { $0["seq"] as? Int }
            #expect(seqs == Array(1...seqs.count), "seqs have no gaps")
            let stored = events.compactMap { $0["clientId"] as? String }
            #expect(Set(stored).count == stored.count, "no message stored twice")
            let missing = Set(acknowledged[t.id] ?? []).subtracting(stored)
            #expect(missing.isEmpty, "acknowledged but lost: \(missing.sorted().prefix(5))")
        }
        restarted.stop()
        let check = try runParley(["check", "--data", dir])
        #expect(check.code == 0, "\(check.out)\(check.err)")
    }

    @Test func tornTailIsCutIntoQuarantineAndTheTicketStillOpens() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var server = try ServerProcess(dataDir: dir)
        let t = try server.startTicket(try server.connect())
        server.stop()
        let month = try #require(try FileManager.default.contentsOfDirectory(atPath: dir + "/tickets").first)
        let path = "\(dir)/tickets/\(month)/\(t.id).jsonl"
        let torn = #"{"seq":3,"at":"2026-11-21T10:00:00.000Z","type":"message","by":{"kind":"vis"#
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile(); h.write(Data(torn.utf8)); try h.close()

        let check = try runParley(["check", "--data", dir])
        #expect(check.code != 0)
        #expect(check.out.contains("torn tail"))

        server = try ServerProcess(dataDir: dir)
        #expect(server.output.contains("torn tail"))
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: dir + "/quarantine")
        #expect(quarantined.count == 1)
        let q = try String(contentsOfFile: "\(dir)/quarantine/\(quarantined[0])", encoding: .utf8)
        #expect(q == torn)
        let c = try server.connect()
        let post = try c.request("POST", "/api/tickets/\(t.id)/messages", headers: ["Authorization": "Bearer \(t.token)"],
                                 body: #"{"id":"after-crash","text":"still here"}"#)
        #expect(post.status == 201)
        #expect((try post.json()["event"] as? [String: Any])?["seq"] as? Int == 3)
        server.stop()
        #expect(try runParley(["check", "--data", dir]).code == 0)
    }

    @Test func sseResumeDeliversExactlyTheMissedEvents() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(dataDir: dir, extraArgs: ["--heartbeat", "0.2"])
        try await onThread {
            let c = try server.connect()
            let t = try server.startTicket(c)
            let auth = ["Authorization": "Bearer \(t.token)"]
            func send(_ id: String) throws {
                let r = try c.request("POST", "/api/tickets/\(t.id)/messages", headers: auth, body: #"{"id":"\#(id)","text":"\#(id)"}"#)
                #expect(r.status == 201)
            }
            let first = try SSEReader(port: server.port, path: "/api/tickets/\(t.id)/live", headers: auth)
            #expect(first.head.status == 200)
            #expect(first.head.headers["content-type"]?.hasPrefix("text/event-stream") == true)
            #expect(try first.nextEvent()?.id == "1")
            #expect(try first.nextEvent()?.id == "2")
            try send("a"); try send("b")
            #expect(try first.nextEvent()?.id == "3")
            #expect(try first.nextEvent()?.id == "4")
            // Heartbeats keep the stream alive.
            var sawHeartbeat = false
            while let f = try first.next() { if f.isComment { sawHeartbeat = true; break } }
            #expect(sawHeartbeat)
            first.connection.shutdownBoth()
            try send("c"); try send("d"); try send("e")
            let resumed = try SSEReader(port: server.port, path: "/api/tickets/\(t.id)/live", headers: auth.merging(["Last-Event-ID": "4"]) { a, _ in a })
            var ids: [String] = []
            var texts: [String] = []
            for _ in 0..<3 {
                let f = try #require(try resumed.nextEvent())
                ids.append(f.id ?? "")
                texts.append(try f.json()["text"] as? String ?? "")
            }
            try send("marker")
            let marker = try #require(try resumed.nextEvent())
            ids.append(marker.id ?? "")
            #expect(ids == ["5", "6", "7", "8"], "exactly the missed events, then live ones, no duplicates")
            #expect(texts == ["c", "d", "e"])
        }
    }

    @Test func agentStreamCarriesVisitorMessagesAndResumes() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let add = try runParley(["agent", "add", "zoe@shop.test", "--name", "Zoe", "--role", "admin", "--password-stdin", "--data", dir],
                                stdin: "correct horse battery\n")
        #expect(add.code == 0, "\(add.err)")
        let server = try ServerProcess(dataDir: dir)
        try await onThread {
            let c = try server.connect()
            let login = try c.request("POST", "/api/agent/login", body: #"{"email":"zoe@shop.test","password":"correct horse battery"}"#)
            #expect(login.status == 200)
            let cookie = String(try #require(login.headers["set-cookie"]?.split(separator: ";").first))
            let t = try server.startTicket(c)
            let stream = try SSEReader(port: server.port, path: "/api/agent/live", headers: ["Cookie": cookie])
            #expect(stream.head.status == 200)
            let hello = try #require(try stream.nextEvent())
            #expect(hello.event == "hello")
            let auth = ["Authorization": "Bearer \(t.token)"]
            _ = try c.request("POST", "/api/tickets/\(t.id)/messages", headers: auth, body: #"{"id":"v1","text":"anyone there?"}"#)
            let got = try #require(try stream.nextEvent())
            let event = try #require(try got.json()["event"] as? [String: Any])
            #expect(event["text"] as? String == "anyone there?")
            let lastID = try #require(got.id)
            stream.connection.shutdownBoth()
            _ = try c.request("POST", "/api/tickets/\(t.id)/messages", headers: auth, body: #"{"id":"v2","text":"hello?"}"#)
            let resumed = try SSEReader(port: server.port, path: "/api/agent/live", headers: ["Cookie": cookie, "Last-Event-ID": lastID])
            let missed = try #require(try resumed.nextEvent())
            #expect(try (missed.json()["event"] as? [String: Any])?["text"] as? String == "hello?")
            let stale = try SSEReader(port: server.port, path: "/api/agent/live", headers: ["Cookie": cookie, "Last-Event-ID": "otherboot.5"])
            #expect(try stale.nextEvent()?.event == "reset")
            let anonymous = try c.request("GET", "/api/agent/live")
            #expect(anonymous.status == 401)
        }
    }

    @Test func anAgentStreamEndsWhenTheAgentIsDisabled() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (email, role) in [("owner@shop.test", "admin"), ("zoe@shop.test", "agent")] {
            let add = try runParley(["agent", "add", email, "--name", "N", "--role", role, "--widget", "demo",
                                     "--password-stdin", "--data", dir], stdin: "correct horse battery\n")
            #expect(add.code == 0, "\(add.err)")
        }
        let server = try ServerProcess(dataDir: dir, extraArgs: ["--heartbeat", "0.2"])
        try await onThread {
            let c = try server.connect()
            let login = try c.request("POST", "/api/agent/login", body: #"{"email":"zoe@shop.test","password":"correct horse battery"}"#)
            #expect(login.status == 200)
            let cookie = String(try #require(login.headers["set-cookie"]?.split(separator: ";").first))
            let stream = try SSEReader(port: server.port, path: "/api/agent/live", headers: ["Cookie": cookie])
            #expect(try stream.nextEvent()?.event == "hello")
            // Disabled from the command line while the stream is open (the server re-reads agents).
            #expect(try runParley(["agent", "disable", "zoe@shop.test", "--data", dir]).code == 0)
            let last = try stream.nextEvent()
            #expect(last?.event == "signed-out")
            #expect(try stream.next() == nil, "the stream is closed")
            #expect(try c.request("GET", "/api/agent/me", headers: ["Cookie": cookie]).status == 401)
        }
    }

    /// An admin giving an agent a team (and so a widget) while its inbox is open: the stream
    /// says `reset` (the page reloads its list) and ends, and the next one carries the new widget.
    @Test func anAgentStreamResetsWhenItsAccessChanges() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (email, role) in [("owner@shop.test", "admin"), ("zoe@shop.test", "agent")] {
            let add = try runParley(["agent", "add", email, "--name", "N", "--role", role,
                                     "--password-stdin", "--data", dir], stdin: "correct horse battery\n")
            #expect(add.code == 0, "\(add.err)")
        }
        let server = try ServerProcess(dataDir: dir, extraArgs: ["--heartbeat", "0.2"])
        try await onThread {
            let c = try server.connect()
            func login(_ email: String) throws -> String {
                let r = try c.request("POST", "/api/agent/login", body: #"{"email":"\#(email)","password":"correct horse battery"}"#)
                #expect(r.status == 200)
                return String(try #require(r.headers["set-cookie"]?.split(separator: ";").first))
            }
            let zoe = try login("zoe@shop.test"), owner = try login("owner@shop.test")
            let stream = try SSEReader(port: server.port, path: "/api/agent/live", headers: ["Cookie": zoe])
            #expect(try stream.nextEvent()?.event == "hello")
            let teams = try c.request("PUT", "/api/admin/teams", headers: ["Cookie": owner],
                                      body: #"{"teams":[{"id":"shop","name":"Shop","widgets":["demo"]}]}"#)
            #expect(teams.status == 200)
            let agents = try c.request("GET", "/api/admin/agents", headers: ["Cookie": owner])
            let zoeID = try #require(String(decoding: agents.body, as: UTF8.self).firstMatch(of: /"email":"zoe@shop.test","id":"(a_[^"]+)"/)?.1)
            #expect(try c.request("PATCH", "/api/admin/agents/\(zoeID)", headers: ["Cookie": owner], body: #"{"teams":["shop"]}"#).status == 200)
            #expect(try stream.nextEvent()?.event == "reset")
            #expect(try stream.next() == nil, "the stream is closed")
            // Still signed in, and the demo widget is now Zoe's.
            let me = try c.request("GET", "/api/agent/me", headers: ["Cookie": zoe])
            #expect(me.status == 200 && String(decoding: me.body, as: UTF8.self).contains(#""id":"demo""#))
        }
    }

    @Test func idleMalformedAndOversizedConnectionsAreAnsweredOrClosed() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(dataDir: dir, extraArgs: ["--idle-timeout", "1"])
        try await onThread {
            // Sends nothing: closed by the idle timeout (the read would time out after 15 s otherwise).
            let silent = try server.connect()
            #expect(try silent.readToEnd().isEmpty)
            // Half a request, then silence: closed too.
            let half = try server.connect()
            try half.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            let halfReply = String(decoding: try half.readToEnd(), as: UTF8.self)
            #expect(halfReply.isEmpty || halfReply.hasPrefix("HTTP/1.1 4"))
            // Garbage: 400 and closed.
            let garbage = try server.connect()
            try garbage.send("HELLO THERE\r\n\r\n")
            let reply = String(decoding: try garbage.readToEnd(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.1 400"))
            // Oversized headers: 400/431 and closed.
            let big = try server.connect()
            try? big.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 200_000) + "\r\n\r\n")
            let bigReply = String(decoding: try big.readToEnd(), as: UTF8.self)
            #expect(bigReply.hasPrefix("HTTP/1.1 400") || bigReply.hasPrefix("HTTP/1.1 431"), "got: \(bigReply.prefix(40))")
            // The server is still fine.
            #expect(try server.connect().request("GET", "/healthz").status == 200)
        }
    }

    @Test func oneProcessPerDataFolder() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(dataDir: dir)
        let check = try runParley(["check", "--repair", "--data", dir])
        #expect(check.code != 0)
        #expect(check.err.contains("in use by another parley process"))
        #expect(throws: (any Error).self) { _ = try ServerProcess(dataDir: dir) }
        #expect(try server.connect().request("GET", "/healthz").status == 200)
        server.stop()
        #expect(try runParley(["check", "--data", dir]).code == 0)
    }

    @Test func cliAgentCommandsValidateAndReport() async throws {
        let dir = tempDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let short = try runParley(["agent", "add", "a@shop.test", "--name", "A", "--password-stdin", "--data", dir], stdin: "short\n")
        #expect(short.code != 0)
        #expect(short.err.split(separator: "\n").count == 1 && short.err.contains("password"))
        #expect(!FileManager.default.fileExists(atPath: dir), "refused input leaves no data folder behind")
        let ok = try runParley(["agent", "add", "a@shop.test", "--name", "A", "--role", "admin", "--password-stdin", "--data", dir], stdin: "long enough password\n")
        #expect(ok.code == 0)
        let dup = try runParley(["agent", "add", "A@shop.test", "--name", "A2", "--password-stdin", "--data", dir], stdin: "long enough password\n")
        #expect(dup.code != 0 && dup.err.contains("already exists"))
        let badRole = try runParley(["agent", "add", "b@shop.test", "--name", "B", "--role", "owner", "--password-stdin", "--data", dir], stdin: "long enough password\n")
        #expect(badRole.code != 0)
        let list = try runParley(["agent", "list", "--data", dir])
        #expect(list.out.contains("a@shop.test") && list.out.contains("admin"))
        #expect(!list.out.contains("b@shop.test"))
        let last = try runParley(["agent", "disable", "a@shop.test", "--data", dir])
        #expect(last.code != 0 && last.err.contains("last admin"))
        let pw = try runParley(["agent", "passwd", "a@shop.test", "--password-stdin", "--data", dir], stdin: "another long password\n")
        #expect(pw.code == 0)
    }
}

extension RawConnection {
    func shutdownBoth() { shutdown(fd, Int32(SHUT_RDWR)) }
}
