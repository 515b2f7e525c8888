import Foundation
import Testing
@testable import ParleyCore

@Suite("Path rules")
struct PathRulesTests {
    struct Vector: Decodable { let mode: PathRules.Mode; let paths: [String]; let path: String; let shows: Bool }
    struct Vectors: Decodable { let cases: [Vector] }

    static func vectors() throws -> [Vector] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("vectors/path-rules.json")
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url)).cases
    }

    /// The shared vectors file: the widget's JavaScript runs the same cases.
    @Test func everySharedVectorHolds() throws {
        let cases = try Self.vectors()
        #expect(cases.count >= 20)
        for c in cases {
            #expect(PathRules(mode: c.mode, paths: c.paths).shows(onPath: c.path) == c.shows,
                    "\(c.mode) \(c.paths) on \(c.path)")
        }
    }

    @Test func patternsMustLookLikePaths() {
        #expect(throws: ParleyError.self) { try PathRules(mode: .whitelist, paths: ["checkout"]).validate() }
        #expect(throws: ParleyError.self) { try PathRules(mode: .whitelist, paths: ["/a b"]).validate() }
        #expect(throws: Never.self) { try PathRules(mode: .blacklist, paths: ["/checkout*", "/p/*/r"]).validate() }
    }
}

@Suite("Opening hours")
struct HoursTests {
    let paris = Hours(timeZone: "Europe/Paris",
                      weekly: ["mon": ["09:00-12:00", "14:00-18:00"], "tue": ["09:00-18:00"], "sat": ["10:00-24:00"]],
                      closed: ["2026-11-24"])

    static func utc(_ s: String) -> Date { Timestamp.parse(s)! }

    @Test(arguments: [
        // (UTC instant, open?, next opening in UTC or "")  — Paris is UTC+1 in November.
        ("2026-11-23T08:30:00.000Z", true, ""),                           // Mon 09:30 local
        ("2026-11-23T11:30:00.000Z", false, "2026-11-23T13:00:00.000Z"),  // Mon 12:30 → 14:00 local
        ("2026-11-23T07:59:00.000Z", false, "2026-11-23T08:00:00.000Z"),  // Mon 08:59 → 09:00
        ("2026-11-23T17:00:00.000Z", false, "2026-11-28T09:00:00.000Z"),  // Mon 18:00 (end excluded); Tue 24th closed → Sat 10:00
        ("2026-11-28T22:59:00.000Z", true, ""),                           // Sat 23:59, open until 24:00
        ("2026-11-28T23:00:00.000Z", false, "2026-11-30T08:00:00.000Z"),  // Sun 00:00 → Mon 09:00
    ])
    func openNowAndNextOpening(at: String, open: Bool, next: String) {
        let s = paris.status(at: Self.utc(at))
        #expect(s.open == open)
        #expect(s.nextOpening.map(Timestamp.format) == (next.isEmpty ? nil : next))
    }

    @Test func daylightSavingDaysUseLocalClockTimes() {
        // 2026-03-29: Paris springs forward at 02:00. An 08:00 opening is 06:00 UTC that day.
        let h = Hours(timeZone: "Europe/Paris", weekly: ["sun": ["08:00-12:00"]])
        let s = h.status(at: Self.utc("2026-03-29T05:00:00.000Z"))  // 07:00 local (CEST)
        #expect(s.open == false)
        #expect(s.nextOpening.map(Timestamp.format) == "2026-03-29T06:00:00.000Z")
        #expect(h.status(at: Self.utc("2026-03-29T06:30:00.000Z")).open)
    }

    @Test func neverOpenHasNoNextOpening() {
        let s = Hours(timeZone: "UTC", weekly: [:]).status(at: Self.utc("2026-11-23T10:00:00.000Z"))
        #expect(!s.open && s.nextOpening == nil)
    }

    @Test func validationNamesTheBadField() {
        let bad = Hours(timeZone: "Mars/Olympus", weekly: ["mon": ["18:00-09:00"], "funday": []], closed: ["25/12/2026"])
        #expect {
            try bad.validate()
        } throws: { error in
            guard case ParleyError.invalid(let f, _) = error else { return false }
            return f["timeZone"] != nil && f["weekly.mon[0]"] != nil && f["weekly.funday"] != nil && f["closed[0]"] != nil
        }
        #expect(throws: Never.self) { try paris.validate() }
    }
}
