import Foundation
import Testing
@testable import ParleyCore

@Suite("Tokens, ticket ids, data layout, server secret")
struct TokensTests {
    @Test func randomTokensAreURLSafeAndDistinct() {
        let tokens = (0..<100).map { _ in Tokens.random() }
        #expect(Set(tokens).count == 100)
        for t in tokens {
            #expect(t.count == 43)  // 32 bytes, base64url without padding
            #expect(t.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        }
    }

    @Test func tokenMatchesOnlyItsHash() {
        let t = Tokens.random()
        let h = Tokens.hash(t)
        #expect(h.count == 64)
        #expect(Tokens.matches(token: t, hash: h))
        #expect(!Tokens.matches(token: t + "a", hash: h))
        #expect(!Tokens.matches(token: t, hash: ""))
        #expect(Tokens.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func ticketIdsCarryTheirDateAndAreValid() {
        let id = TicketID.make(now: fixedNow)
        #expect(id.hasPrefix("20251121-"))
        #expect(TicketID.isValid(id))
        #expect(DataLayout(root: "/d/").ticketPath(id) == "/d/tickets/2025-11/\(id).jsonl")
    }

    @Test(arguments: ["", "20251121-ABCDEFGHIJ", "20251121-abcdefghi", "20251121_abcdefghij", "2025112x-abcdefghij",
                      "../../../etc/passwd", "20251121-abcdefgh/j", "20251121-abcdefghil"])
    func invalidTicketIdsHaveNoPath(id: String) {
        #expect(!TicketID.isValid(id))
        #expect(DataLayout(root: "/d").ticketPath(id) == nil)
    }

    @Test func serverSecretIsCreatedOncePrivateAndStable() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        try tmp.layout.create()
        let a = try ServerSecret.loadOrCreate(layout: tmp.layout)
        var st = stat()
        #expect(stat(tmp.layout.secretKey, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        let b = try ServerSecret.loadOrCreate(layout: tmp.layout)
        #expect(a.sign("message") == b.sign("message"))
        #expect(a.sign("message") != a.sign("other"))
    }

    @Test func shortSecretIsRefused() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        try tmp.layout.create()
        try Durable.writeNew(path: tmp.layout.secretKey, bytes: Array((Data(count: 16).base64EncodedString() + "\n").utf8))
        #expect(throws: ParleyError.self) { try ServerSecret.loadOrCreate(layout: tmp.layout) }
    }

    @Test func layoutCreatesEveryFolder() throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let layout = DataLayout(root: tmp.path + "/data/")
        try layout.create()
        #expect(files(in: layout.root) == ["attachments", "config", "quarantine", "tickets", "uploads"])
        #expect(files(in: layout.config) == ["widgets"])
        try layout.create()  // idempotent
    }
}
