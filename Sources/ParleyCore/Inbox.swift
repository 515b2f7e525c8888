import Foundation
import Synchronization

/// Something configured for some widgets only: `widgets` nil or empty means every widget.
public protocol WidgetScoped {
    var widgets: [String]? { get }
}

extension WidgetScoped {
    public func applies(to widget: String) -> Bool { applies { $0 == widget } }
    /// Whether it applies to at least one widget `sees` accepts (an agent's widgets).
    public func applies(where sees: (String) -> Bool) -> Bool {
        guard let list = widgets, !list.isEmpty else { return true }
        return list.contains(where: sees)
    }
}

/// A ticket tag: trimmed and lower-cased; 1–`Limits.tagLength` characters, no commas or line breaks.
public enum Tag {
    public static let rule = "Tags have 1–\(Limits.tagLength) characters, no commas or line breaks."
    /// The tag as stored, or nil when `raw` is not a valid one.
    public static func normalized(_ raw: String) -> String? {
        let tag = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard !tag.isEmpty, tag.count <= Limits.tagLength, !tag.contains(where: { $0.isNewline || $0 == "," }) else { return nil }
        return tag
    }
}

/// A wrap-up code an agent picks when a chat ends ("sale", "refund"…).
public struct Disposition: Codable, Sendable, Equatable, WidgetScoped {
    public var code: String
    public var label: String
    public var widgets: [String]?
    public init(code: String, label: String, widgets: [String]? = nil) { self.code = code; self.label = label; self.widgets = widgets }
}

/// A reply an agent inserts by typing `/shortcut`.
public struct CannedResponse: Codable, Sendable, Equatable, WidgetScoped {
    public var shortcut: String
    public var title: String
    public var text: String
    public var widgets: [String]?
    public init(shortcut: String, title: String, text: String, widgets: [String]? = nil) {
        self.shortcut = shortcut; self.title = title; self.text = text; self.widgets = widgets
    }
}

/// The inbox's shared lists, `config/inbox.json`: disposition codes and canned responses.
/// A missing file means none. Validated as a whole: a bad file is refused with every problem named.
public struct InboxSettings: Codable, Sendable, Equatable {
    public var dispositions: [Disposition] = []
    public var canned: [CannedResponse] = []
    public init(dispositions: [Disposition] = [], canned: [CannedResponse] = []) { self.dispositions = dispositions; self.canned = canned }

    enum CodingKeys: String, CodingKey { case dispositions, canned }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        dispositions = try c.decodeIfPresent([Disposition].self, forKey: .dispositions) ?? []
        canned = try c.decodeIfPresent([CannedResponse].self, forKey: .canned) ?? []
    }

    public func dispositions(for widget: String) -> [Disposition] { dispositions.filter { $0.applies(to: widget) } }

    /// Problems keyed like `dispositions[2].code`; empty when the settings are valid.
    public func problems() -> [String: String] {
        var out: [String: String] = [:]
        var codes = Set<String>()
        for (i, d) in dispositions.enumerated() {
            if !Self.isCode(d.code) { out["dispositions[\(i)].code"] = "Use 1–40 letters, digits, - or _." }
            else if !codes.insert(d.code).inserted { out["dispositions[\(i)].code"] = "The code \(d.code) is used twice." }
            if d.label.nilIfBlank == nil || d.label.count > 80 { out["dispositions[\(i)].label"] = "The label must have 1–80 characters." }
        }
        var shortcuts = Set<String>()
        for (i, c) in canned.enumerated() {
            if !Self.isCode(c.shortcut) { out["canned[\(i)].shortcut"] = "Use 1–40 letters, digits, - or _." }
            else if !shortcuts.insert(c.shortcut.lowercased()).inserted { out["canned[\(i)].shortcut"] = "The shortcut /\(c.shortcut) is used twice." }
            if c.title.nilIfBlank == nil || c.title.count > 80 { out["canned[\(i)].title"] = "The title must have 1–80 characters." }
            if c.text.nilIfBlank == nil || c.text.count > Limits.messageLength {
                out["canned[\(i)].text"] = "The text must have 1–\(Limits.messageLength) characters."
            }
        }
        return out
    }

    static func isCode(_ s: String) -> Bool {
        (1...40).contains(s.count) && s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }

    /// Reads `path`; a missing file gives empty settings, an unreadable or invalid one an error
    /// naming the file.
    public static func load(path: String) throws -> InboxSettings {
        guard let data = FileManager.default.contents(atPath: path) else { return InboxSettings() }
        let s: InboxSettings
        do { s = try JSONDecoder().decode(InboxSettings.self, from: data) } catch {
            throw ParleyError.corrupt("\(path) is not valid inbox settings: \(error)")
        }
        let problems = s.problems()
        if !problems.isEmpty {
            let list = problems.keys.sorted().map { "\($0): \(problems[$0] ?? "")" }.joined(separator: "; ")
            throw ParleyError.corrupt("\(path): \(list)")
        }
        return s
    }
}

/// A visitor an agent saved to the shop's contacts (from a ticket).
public struct Contact: Codable, Sendable, Equatable {
    public var email: String
    public var name: String?
    public var addedAt: String
    /// The agent who added it (id).
    public var addedBy: String
    public init(email: String, name: String?, addedAt: String, addedBy: String) {
        self.email = email; self.name = name; self.addedAt = addedAt; self.addedBy = addedBy
    }
}

/// The contacts list, `contacts.json` in the data folder, replaced atomically on every change.
/// Keyed by lower-case email. It holds personal data: `parley erase` removes a visitor's entry.
public final class ContactStore: Sendable {
    let path: String
    private let state = Mutex<[String: Contact]>([:])
    private let writeLock = Mutex(())

    public init(layout: DataLayout) throws {
        path = layout.contactsFile
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let list: [Contact]
        do { list = try JSONDecoder().decode([Contact].self, from: data) } catch {
            throw ParleyError.corrupt("\(path) is not a valid contacts file: \(error)")
        }
        state.withLock { d in for c in list { d[c.email.lowercased()] = c } }
    }

    public func contact(email: String) -> Contact? { state.withLock { $0[email.lowercased()] } }
    public var all: [Contact] { state.withLock { Array($0.values) }.sorted { $0.email < $1.email } }

    /// Removes a contact (erase); whether there was one.
    @discardableResult
    public func remove(email: String) throws -> Bool {
        let key = email.lowercased()
        return try writeLock.withLock { _ in
            guard contact(email: key) != nil else { return false }
            let list = all.filter { $0.email != key }
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try Durable.replace(path: path, bytes: Array(try enc.encode(list)) + [0x0A], mode: 0o600)
            state.withLock { $0[key] = nil }
            return true
        }
    }

    /// Adds a contact; returns it and whether it is new (an existing one is left as it was).
    public func add(email: String, name: String?, by agent: String, now: Date = Date()) throws -> (Contact, added: Bool) {
        let key = email.lowercased()
        return try writeLock.withLock { _ in
            if let c = contact(email: key) { return (c, false) }
            let c = Contact(email: key, name: name?.nilIfBlank, addedAt: Timestamp.format(now), addedBy: agent)
            var list = all
            list.append(c)
            list.sort { $0.email < $1.email }
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try Durable.replace(path: path, bytes: Array(try enc.encode(list)) + [0x0A], mode: 0o600)
            state.withLock { $0[key] = c }
            return (c, true)
        }
    }
}
