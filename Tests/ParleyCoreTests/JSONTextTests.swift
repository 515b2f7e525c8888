import Foundation
import Testing
@testable import ParleyCore

@Suite("JSON text, timestamps and event encoding")
struct JSONTextTests {
    @Test func timestampFormatHasMillisecondsInUTC() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_700_000_000.5)) == "2023-11-14T22:13:20.500Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400.007)) == "2000-02-29T00:00:00.007Z")
    }

    @Test func timestampParseReadsTheFormat() throws {
        let d = try #require(Timestamp.parse("2023-11-14T22:13:20.500Z"))
        #expect(d.timeIntervalSince1970 == 1_700_000_000.5)
    }

    /// Every millisecond value survives parse → format, so an `at` re-encoded stays the same text.
    @Test func timestampRoundTripsEveryMillisecond() throws {
        var broken: [String] = []
        for ms in 0..<1000 {
            let s = "2025-11-21T13:30:45." + String(format: "%03d", ms) + "Z"
            let d = try #require(Timestamp.parse(s))
            if Timestamp.format(d) != s { broken.append("\(s) → \(Timestamp.format(d))") }
        }
        #expect(broken.isEmpty, "\(broken.count) values change: \(broken.prefix(5))")
    }

    @Test func timestampRoundTripsNow() throws {
        let s = Timestamp.format(Date())
        let d = try #require(Timestamp.parse(s))
        #expect(Timestamp.format(d) == s)
    }

    @Test(arguments: ["", "2025-11-21T13:30:45Z", "2025-11-21 13:30:45.000Z", "2025-11-21T13:30:45.000+01:00",
                      "2025-11-21T13:30:4x.000Z", "２025-11-21T13:30:45.000Z"])
    func timestampParseRejectsOtherFormats(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func stringsWithSpecialCharactersParseBackToTheOriginal() throws {
        let tricky = "quote \" backslash \\ slash / newline \n return \r tab \t nul \u{0} bell \u{7} us \u{1F} del \u{7F} é 😀 \u{2028}"
        var w = JSONText()
        w.beginObject()
        w.key("text"); w.string(tricky)
        w.key(tricky); w.string("as a key")
        w.endObject()
        // Raw control characters are never emitted.
        #expect(!w.bytes.contains { $0 < 0x20 })
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String: Any])
        #expect(obj["text"] as? String == tricky)
        #expect(obj[tricky] as? String == "as a key")
    }

    @Test func nestedValuesGetTheirCommas() throws {
        var w = JSONText()
        w.beginObject()
        w.key("a"); w.beginArray(); w.int(1); w.string("x"); w.bool(true); w.null(); w.beginObject(); w.endObject(); w.endArray()
        w.key("b"); w.beginObject(); w.key("c"); w.int(-3); w.field("missing", nil as String?); w.field("d", "e"); w.endObject()
        w.key("f"); w.raw(Array(#"{"g":[]}"#.utf8))
        w.field("h", false)
        w.endObject()
        #expect(w.string == #"{"a":[1,"x",true,null,{}],"b":{"c":-3,"d":"e"},"f":{"g":[]},"h":false}"#)
        #expect(try JSONSerialization.jsonObject(with: Data(w.bytes)) is [String: Any])
    }

    private func fullEvent() -> TicketEvent {
        var e = TicketEvent(type: EventType.opened, by: EventActor(kind: .visitor, id: "v1", name: "Ann \"A\""))
        e.seq = 1; e.at = "2025-11-21T13:30:45.123Z"
        e.widget = "demo"; e.fields = ["name": "Ann", "email": "ann@example.com"]
        e.page = PageInfo(url: "https://shop.example/?q=1&x=\"2\"", title: "Shop\nhome")
        e.language = "fr"; e.userAgent = "Mozilla/5.0"; e.tokenHash = Tokens.hash("secret-token")
        e.text = "hello"; e.attachments = ["att1", "att2"]; e.clientId = "c-1"
        e.attachment = AttachmentInfo(id: "att1", name: "photo.png", size: 1234, type: "image/png")
        e.agent = "a_1"; e.agentName = "Bob"; e.team = "sales"
        e.status = "open"; e.priority = "high"; e.tag = "vip"
        e.disposition = "solved"; e.notes = "n"; e.rating = 5; e.comment = "great"; e.rule = "welcome"
        return e
    }

    @Test func logEncodingKeepsTheTokenHashAndApiEncodingDropsIt() throws {
        let e = fullEvent()
        let forLog = try #require(try JSONSerialization.jsonObject(with: Data(e.json(forLog: true))) as? [String: Any])
        let forApi = try #require(try JSONSerialization.jsonObject(with: Data(e.json(forLog: false))) as? [String: Any])
        #expect(forLog["tokenHash"] as? String == Tokens.hash("secret-token"))
        #expect(forApi["tokenHash"] == nil)
        #expect(Set(forLog.keys).subtracting(forApi.keys) == ["tokenHash"])
        #expect(!String(decoding: e.json(), as: UTF8.self).contains("tokenHash"))
    }

    @Test func logLineStartsWithSeqAtTypeBy() {
        let line = String(decoding: fullEvent().json(forLog: true), as: UTF8.self)
        #expect(line.hasPrefix(#"{"seq":1,"at":"2025-11-21T13:30:45.123Z","type":"ticket.opened","by":{"kind":"visitor","id":"v1","name":"Ann \"A\""}"#))
        #expect(!line.contains("\n"))
    }

    @Test func everyFieldRoundTripsThroughTheLogEncoding() throws {
        let e = fullEvent()
        #expect(try TicketEvent.parse(line: e.json(forLog: true)) == e)
        var minimal = TicketEvent(type: EventType.agentJoined, by: EventActor(kind: .agent, id: "a_1"))
        minimal.seq = 9; minimal.at = "2025-11-21T13:30:45.000Z"
        #expect(try TicketEvent.parse(line: minimal.json(forLog: true)) == minimal)
        #expect(String(decoding: minimal.json(forLog: true), as: UTF8.self)
                == #"{"seq":9,"at":"2025-11-21T13:30:45.000Z","type":"agent.joined","by":{"kind":"agent","id":"a_1"}}"#)
    }

    @Test(arguments: [
        #"{"seq":0,"at":"2025-11-21T13:30:45.000Z","type":"message","by":{"kind":"visitor"}}"#,
        #"{"seq":1,"at":"yesterday","type":"message","by":{"kind":"visitor"}}"#,
        #"{"seq":1,"at":"2025-11-21T13:30:45.000Z","type":"","by":{"kind":"visitor"}}"#,
        #"{"seq":1,"at":"2025-11-21T13:30:45.000Z","type":"message","by":{"kind":"robot"}}"#,
        #"{"seq":1,"at":"2025-11-21T13:30:45.000Z","type":"message"}"#,
        #"[1,2,3]"#,
    ])
    func eventParseRejectsIncompleteLines(line: String) {
        #expect(throws: (any Error).self) { try TicketEvent.parse(line: Array(line.utf8)) }
    }
}
