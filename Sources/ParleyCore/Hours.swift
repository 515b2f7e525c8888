import Foundation

/// A widget's opening hours: ranges per weekday in an IANA time zone, and closed dates.
/// Stored readably, e.g. `{"timeZone":"Europe/Paris","weekly":{"mon":["09:00-12:00","14:00-18:00"]},
/// "closed":["2026-12-25"]}`. The server decides "open now / next opening" so the loader stays small.
public struct Hours: Codable, Sendable, Equatable {
    public var timeZone: String
    /// `mon` … `sun` → ranges `HH:MM-HH:MM` (end may be `24:00`); a missing day is closed.
    public var weekly: [String: [String]]
    /// Local dates (`YYYY-MM-DD`) when the shop is closed all day.
    public var closed: [String]

    public static let dayKeys = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]  // Calendar weekday 1…7

    public init(timeZone: String, weekly: [String: [String]], closed: [String] = []) {
        self.timeZone = timeZone; self.weekly = weekly; self.closed = closed
    }

    enum CodingKeys: String, CodingKey { case timeZone, weekly, closed }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        timeZone = try c.decode(String.self, forKey: .timeZone)
        weekly = try c.decodeIfPresent([String: [String]].self, forKey: .weekly) ?? [:]
        closed = try c.decodeIfPresent([String].self, forKey: .closed) ?? []
    }

    /// A range in minutes since local midnight.
    struct Range { let start: Int; let end: Int }

    static func parseRange(_ s: String) -> Range? {
        let parts = s.split(separator: "-")
        guard parts.count == 2, let a = minutes(parts[0]), let b = minutes(parts[1]), a < b else { return nil }
        return Range(start: a, end: b)
    }

    static func minutes(_ s: Substring) -> Int? {
        let hm = s.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]),
              (0...24).contains(h), (0...59).contains(m), h < 24 || m == 0 else { return nil }
        return h * 60 + m
    }

    /// Checks every field; errors are keyed like `weekly.mon[1]`.
    public func validate() throws {
        var errors: [String: String] = [:]
        if TimeZone(identifier: timeZone) == nil { errors["timeZone"] = "Unknown time zone \(timeZone) (use an IANA name such as Europe/Paris)." }
        for (day, ranges) in weekly {
            guard Self.dayKeys.contains(day) else { errors["weekly.\(day)"] = "Days are mon, tue, wed, thu, fri, sat, sun."; continue }
            for (i, r) in ranges.enumerated() where Self.parseRange(r) == nil {
                errors["weekly.\(day)[\(i)]"] = "Use HH:MM-HH:MM with the start before the end (for example 09:00-12:30)."
            }
        }
        for (i, d) in closed.enumerated() where Self.localDate(d) == nil {
            errors["closed[\(i)]"] = "Use a date like 2026-12-25."
        }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
    }

    static func localDate(_ s: String) -> (Int, Int, Int)? {
        let p = s.split(separator: "-")
        guard p.count == 3, p[0].count == 4, let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        return (y, m, d)
    }

    /// Open right now, and when it next opens (nil if open now or never within two weeks).
    public func status(at now: Date) -> (open: Bool, nextOpening: Date?) {
        guard let tz = TimeZone(identifier: timeZone) else { return (true, nil) }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        let closedSet = Set(closed)
        func ranges(for day: Date) -> [Range] {
            let c = cal.dateComponents([.year, .month, .day, .weekday], from: day)
            let key = String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
            if closedSet.contains(key) { return [] }
            let name = Self.dayKeys[((c.weekday ?? 1) - 1) % 7]
            return (weekly[name] ?? []).compactMap(Self.parseRange).sorted { $0.start < $1.start }
        }
        let startOfToday = cal.startOfDay(for: now)
        // Wall-clock minutes, not minutes elapsed since midnight: on DST days they differ.
        let hm = cal.dateComponents([.hour, .minute], from: now)
        let nowMinutes = (hm.hour ?? 0) * 60 + (hm.minute ?? 0)
        let today = ranges(for: now)
        if today.contains(where: { $0.start <= nowMinutes && nowMinutes < $0.end }) { return (true, nil) }
        for offset in 0..<15 {
            guard let day = cal.date(byAdding: .day, value: offset, to: startOfToday) else { continue }
            let ymd = cal.dateComponents([.year, .month, .day], from: day)
            for r in ranges(for: day) where offset > 0 || r.start > nowMinutes {
                var c = ymd
                c.hour = r.start / 60; c.minute = r.start % 60
                if let opening = cal.date(from: c) { return (false, opening) }
            }
        }
        return (false, nil)
    }
}
