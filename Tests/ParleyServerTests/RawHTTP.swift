import Foundation
import Testing

/// Runs blocking work on its own thread, so socket waits never hold the cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { cont in
        let t = Thread { cont.resume(with: Result { try body() }) }
        t.start()
    }
}

struct RawError: Error, CustomStringConvertible { let description: String }

/// A blocking HTTP/1.1 client on a raw socket: exact control over what is sent (nothing, half a
/// request, garbage) and over reading streams. Every read has a timeout so a test cannot hang.
final class RawConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 15) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawError(description: "socket: \(errno)") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { Glibc.close(fd); throw RawError(description: "connect to \(port): errno \(errno)") }
    }

    deinit { Glibc.close(fd) }

    func send(_ s: String) throws { try send(Array(s.utf8)) }
    func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { p in Glibc.send(fd, p.baseAddress! + off, p.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawError(description: "send failed: errno \(errno)") }
            off += n
        }
    }

    /// Reads whatever arrives next; empty means the peer closed. Throws on timeout.
    func readSome() throws -> [UInt8] {
        if !buffer.isEmpty { defer { buffer = [] }; return buffer }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == ECONNRESET { return [] }
            throw RawError(description: errno == EAGAIN || errno == EWOULDBLOCK ? "timed out waiting for data" : "recv errno \(errno)")
        }
        return Array(chunk[0..<n])
    }

    /// Reads until the peer closes; returns everything read.
    func readToEnd() throws -> [UInt8] {
        var all: [UInt8] = []
        while true { let b = try readSome(); if b.isEmpty { return all }; all += b }
    }

    private func fill(until check: ([UInt8]) -> Int?) throws -> Int {
        while true {
            if let i = check(buffer) { return i }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw RawError(description: "connection closed") }
            if n < 0 { throw RawError(description: errno == EAGAIN ? "timed out" : "recv errno \(errno)") }
            buffer += chunk[0..<n]
        }
    }

    private func take(_ n: Int) -> [UInt8] { let out = Array(buffer[0..<n]); buffer.removeFirst(n); return out }

    private func readLine() throws -> String {
        let i = try fill { b in b.indices.dropLast().first { b[$0] == 13 && b[$0 + 1] == 10 } }
        let line = String(decoding: take(i), as: UTF8.self); _ = take(2)
        return line
    }

    struct Head { var status: Int; var headers: [String: String] }

    func readHead() throws -> Head {
        let status = try readLine()
        let parts = status.split(separator: " ")
        guard parts.count >= 2, let code = Int(parts[1]) else { throw RawError(description: "bad status line: \(status)") }
        var headers: [String: String] = [:]
        while true {
            let l = try readLine()
            if l.isEmpty { break }
            if let c = l.firstIndex(of: ":") {
                headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return Head(status: code, headers: headers)
    }

    /// Next piece of a chunked body, or nil at its end.
    func readChunk() throws -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw RawError(description: "bad chunk size \(sizeLine)") }
        if size == 0 { _ = try readLine(); return nil }
        _ = try fill { $0.count >= size + 2 ? size : nil }
        let data = take(size); _ = take(2)
        return data
    }

    struct Response { var status: Int; var headers: [String: String]; var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] { try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) }
    }

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil) throws -> Response {
        var req = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        var h = headers
        if let body { h["Content-Type"] = h["Content-Type"] ?? "application/json"; h["Content-Length"] = "\(body.utf8.count)" }
        for (k, v) in h { req += "\(k): \(v)\r\n" }
        req += "\r\n" + (body ?? "")
        try send(req)
        let head = try readHead()
        var out: [UInt8] = []
        if let len = head.headers["content-length"].flatMap(Int.init) {
            _ = try fill { $0.count >= len ? len : nil }
            out = take(len)
        } else if head.headers["transfer-encoding"]?.contains("chunked") == true {
            while let c = try readChunk() { out += c }
        }
        return Response(status: head.status, headers: head.headers, body: out)
    }
}

/// Reads Server-Sent Events from a chunked response on a RawConnection.
final class SSEReader: @unchecked Sendable {
    struct Frame { var id: String?; var event: String?; var data: String; var isComment: Bool
        func json() throws -> [String: Any] { try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]) }
    }
    let connection: RawConnection
    let head: RawConnection.Head
    private var text = ""

    init(port: Int, path: String, headers: [String: String]) throws {
        connection = try RawConnection(port: port)
        var req = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for (k, v) in headers { req += "\(k): \(v)\r\n" }
        try connection.send(req + "\r\n")
        head = try connection.readHead()
    }

    /// The next frame (event or comment); nil when the stream ended.
    func next() throws -> Frame? {
        while true {
            if let r = text.range(of: "\n\n") {
                let block = String(text[..<r.lowerBound]); text.removeSubrange(..<r.upperBound)
                var f = Frame(id: nil, event: nil, data: "", isComment: false)
                var sawField = false
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix(":") { f.isComment = true; continue }
                    if line.hasPrefix("id: ") { f.id = String(line.dropFirst(4)); sawField = true }
                    if line.hasPrefix("event: ") { f.event = String(line.dropFirst(7)); sawField = true }
                    if line.hasPrefix("data: ") { f.data += String(line.dropFirst(6)); sawField = true }
                }
                if sawField || f.isComment { return f }
                continue  // e.g. a lone retry: line
            }
            guard let chunk = try connection.readChunk() else { return nil }
            text += String(decoding: chunk, as: UTF8.self)
        }
    }

    /// The next frame that is an event (skips heartbeats).
    func nextEvent() throws -> Frame? {
        while let f = try next() { if !f.isComment { return f } }
        return nil
    }
}
