import Foundation

/// What the admin may set on a widget. `problems()` names every bad value by its path in the
/// widget's JSON (`spacing`, `fields[2].label`, `hours.weekly.mon[1]`), so the admin page can
/// show each error next to its control; the server refuses a draft or a publish with any.
extension Widget {
    public static let maxSpacing = 2000
    public static let maxFileSizeLimit = 512 * 1024 * 1024
    public static let maxFilesLimit = 20
    public static let responseSecondsRange = 10...86_400
    public static let languages = ["auto", "en", "fr"]

    public func problems() -> [String: String] {
        var out: [String: String] = [:]
        func text(_ key: String, _ value: String?, max: Int, required: Bool = false, label: String) {
            guard let value else { if required { out[key] = "\(label) cannot be empty." }; return }
            if required && value.nilIfBlank == nil { out[key] = "\(label) cannot be empty." }
            else if value.count > max { out[key] = "\(label) is too long (at most \(max) characters)." }
            else if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
                out[key] = "\(label) contains control characters."
            }
        }
        if !Self.isValidID(id) { out["id"] = "Use 1–40 lowercase letters, digits, - or _." }
        text("name", name, max: 80, required: true, label: "The name")
        text("welcome", welcome, max: 500, label: "The welcome message")
        if !Self.isColor(color) { out["color"] = "Use a colour like #2f6fed." }
        if alignment != "left" && alignment != "right" { out["alignment"] = "Use left or right." }
        if !(0...Self.maxSpacing).contains(spacing) { out["spacing"] = "Use 0 to \(Self.maxSpacing) pixels." }
        if allowedOrigins.count > 50 { out["allowedOrigins"] = "At most 50 sites." }
        for (i, o) in allowedOrigins.enumerated() {
            if Self.hasDefaultPort(o) {
                out["allowedOrigins[\(i)]"] = "Leave out the default port (:443 for https, :80 for http): browsers never send it."
            } else if !Self.isOrigin(o) {
                out["allowedOrigins[\(i)]"] = "Use a site address like https://shop.example (no path)."
            }
        }
        if case .invalid(let f, _)? = Self.failure(pathRules.validate) { for (k, v) in f { out["pathRules.\(k)"] = v } }
        if let hours, case .invalid(let f, _)? = Self.failure(hours.validate) { for (k, v) in f { out["hours.\(k)"] = v } }
        text("offline.message", offline.message, max: 1000, label: "The closed message")
        text("offline.awayMessage", offline.awayMessage, max: 1000, label: "The away message")
        text("offline.contact", offline.contact, max: 500, label: "The contact details")
        fieldProblems(&out)
        if options.count > 10 { out["options"] = "At most 10 options." }
        for (i, o) in options.enumerated() {
            text("options[\(i)].label", o.label, max: 80, required: true, label: "The option")
            text("options[\(i)].welcome", o.welcome, max: 1000, label: "The welcome message")
            text("options[\(i)].team", o.team, max: 60, label: "The team")
        }
        if let p = prompt {
            if !(0...3600).contains(p.delay) { out["prompt.delay"] = "Use 0 to 3600 seconds." }
            text("prompt.title", p.title, max: 80, required: true, label: "The title")
            text("prompt.message", p.message, max: 300, required: true, label: "The message")
        }
        text("organisation", organisation, max: 80, label: "The organisation's name")
        if !Self.responseSecondsRange.contains(targetResponseSeconds) {
            out["targetResponseSeconds"] = "Use 10 seconds to 24 hours."
        }
        if !(1...Self.maxFileSizeLimit).contains(maxFileSize) { out["maxFileSize"] = "Use 1 byte to 512 MB." }
        if !(1...Self.maxFilesLimit).contains(maxFiles) { out["maxFiles"] = "Use 1 to \(Self.maxFilesLimit) files." }
        if allowedTypes.isEmpty { out["allowedTypes"] = "List at least one type (for example image/*)." }
        for (i, t) in allowedTypes.enumerated() where !Self.isTypePattern(t) {
            out["allowedTypes[\(i)]"] = "Use a type like image/png, image/* or application/vnd.oasis.*."
        }
        if !Self.languages.contains(language) { out["language"] = "Use auto, en or fr." }
        for (lang, table) in strings {
            guard lang == "en" || lang == "fr" else { out["strings.\(lang)"] = "Texts can be set for en and fr."; continue }
            for (k, v) in table {
                if k.isEmpty || k.count > 40 || !k.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                    out["strings.\(lang).\(k)"] = "Unknown text key."
                } else {
                    text("strings.\(lang).\(k)", v, max: 500, required: true, label: "The text")
                }
            }
        }
        if let s = identitySecret, !(16...200).contains(s.count) || s.contains(where: \.isWhitespace) {
            out["identitySecret"] = "Use 16–200 characters without spaces (Generate makes a good one)."
        }
        return out
    }

    private func fieldProblems(_ out: inout [String: String]) {
        if fields.count > 20 { out["fields"] = "At most 20 fields." }
        var ids = Set<String>()
        for (i, f) in fields.enumerated() {
            let key = "fields[\(i)]"
            if !InboxSettings.isCode(f.id) { out["\(key).id"] = "Use 1–40 letters, digits, - or _." }
            else if !ids.insert(f.id).inserted { out["\(key).id"] = "The id \(f.id) is used twice." }
            if f.label.nilIfBlank == nil || f.label.count > 80 { out["\(key).label"] = "The label must have 1–80 characters." }
            if let h = f.hint, h.count > 200 { out["\(key).hint"] = "The hint is too long (at most 200 characters)." }
            if !(1...Limits.messageLength).contains(f.maxLength) { out["\(key).maxLength"] = "Use 1 to \(Limits.messageLength) characters." }
            if f.type == .category {
                let opts = f.options ?? []
                if opts.isEmpty || opts.count > 50 || opts.contains(where: { $0.nilIfBlank == nil || $0.count > 80 }) {
                    out["\(key).options"] = "Give 1–50 choices of 1–80 characters."
                }
            }
        }
        if fields.filter({ $0.type == .email }).count > 1 { out["fields"] = "Use at most one email field." }
    }

    static func failure(_ check: () throws -> Void) -> ParleyError? {
        do { try check(); return nil } catch let e as ParleyError { return e } catch { return .badRequest("\(error)") }
    }

    static func isColor(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (u.count == 4 || u.count == 7), u[0] == UInt8(ascii: "#") else { return false }
        return u.dropFirst().allSatisfy { (48...57).contains($0) || (97...102).contains($0 | 0x20) }
    }

    /// `https://shop.example` or `http://localhost:3000`: a scheme, a host, maybe a port, nothing else.
    static func isOrigin(_ s: String) -> Bool {
        guard s.count <= 200, let url = URL(string: s), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty,
              url.path.isEmpty, url.query == nil, url.fragment == nil, url.user == nil else { return false }
        let port = url.port.map { ":\($0)" } ?? ""
        return s.lowercased() == "\(scheme)://\(host.lowercased())\(port)"
    }

    /// `https://shop.example:443`: what a browser's `Origin` never looks like.
    static func hasDefaultPort(_ s: String) -> Bool {
        guard let url = URL(string: s), let port = url.port, let scheme = url.scheme?.lowercased() else { return false }
        return (scheme == "https" && port == 443) || (scheme == "http" && port == 80)
    }

    static func isTypePattern(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard s.count <= 100, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        let ok = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_*")
        return s.unicodeScalars.allSatisfy { $0 == "/" || ok.contains($0) } && !parts[0].contains("*")
    }

    /// What the admin should know but may leave as is (shown, never refused).
    public var warnings: [String] {
        var out: [String] = []
        if allowedOrigins.isEmpty {
            out.append("Any web site can embed this widget: list your shop's address under Allowed sites.")
        }
        if identitySecret == nil { out.append("No identity secret: signed-in customers cannot be recognised.") }
        return out
    }

    /// The top-level settings that differ between two versions (for the history and the audit).
    public static func changedKeys(from old: Widget?, to new: Widget) -> [String] {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        func dict(_ w: Widget?) -> [String: Any] {
            guard let w, let data = try? enc.encode(w),
                  let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            return obj
        }
        let a = dict(old), b = dict(new)
        return Set(a.keys).union(b.keys).filter { k in
            let x = a[k].flatMap { try? JSONSerialization.data(withJSONObject: ["v": $0], options: [.sortedKeys]) }
            let y = b[k].flatMap { try? JSONSerialization.data(withJSONObject: ["v": $0], options: [.sortedKeys]) }
            return x != y
        }.sorted()
    }
}
