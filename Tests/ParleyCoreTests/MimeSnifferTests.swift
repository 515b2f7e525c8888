import Foundation
import Testing
@testable import ParleyCore

@Suite("MIME sniffing by content")
struct MimeSnifferTests {
    /// A 1×1 PNG.
    static let png: [UInt8] = Array(Data(base64Encoded:
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")!)
    static let pdf = Array("%PDF-1.4\n%\u{E2}\u{E3}\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".utf8)
    static let text = Array("Hello, this is a plain text note.\nSecond line.\n".utf8)

    @Test func bytesAreClassifiedByContent() throws {
        let sniffer = try MimeSniffer()
        #expect(try sniffer.mimeType(of: Self.png) == "image/png")
        #expect(try sniffer.mimeType(of: Self.pdf) == "application/pdf")
        #expect(try sniffer.mimeType(of: Self.text) == "text/plain")
    }

    @Test func filesAreClassifiedByContentNotName() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let sniffer = try MimeSniffer()
        let cases: [(String, [UInt8], String)] = [
            ("image.txt", Self.png, "image/png"),
            ("report.png", Self.pdf, "application/pdf"),
            ("notes.pdf", Self.text, "text/plain"),
        ]
        for (name, content, type) in cases {
            let path = tmp.path + "/" + name
            try Durable.writeNew(path: path, bytes: content)
            #expect(try sniffer.mimeType(ofFile: path) == type, "\(name)")
        }
    }

    /// A file that cannot be read is an error, not a "type" made of libmagic's error text.
    @Test func missingFileThrowsInsteadOfReturningAnErrorText() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let sniffer = try MimeSniffer()
        #expect(throws: ParleyError.self) { try sniffer.mimeType(ofFile: tmp.path + "/missing") }
    }

    @Test func emptyBytesAreEmpty() throws {
        #expect(try MimeSniffer().mimeType(of: []) == "application/x-empty")
    }

    @Test func concurrentUseIsSafe() async throws {
        let sniffer = try MimeSniffer()
        let types = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<64 { group.addTask { try sniffer.mimeType(of: i.isMultiple(of: 2) ? Self.png : Self.pdf) } }
            var out: [String] = []
            for try await t in group { out.append(t) }
            return out
        }
        #expect(types.filter { $0 == "image/png" }.count == 32)
        #expect(types.filter { $0 == "application/pdf" }.count == 32)
    }

    @Test func libarchiveIsLinked() {
        #expect(ArchiveSupport.version.contains("libarchive"))
    }
}
