import Foundation

/// One pre-chat form field of a widget.
public struct FormField: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case name, email, category, phone, id, custom, reason }
    public var id: String
    public var type: Kind
    public var label: String
    public var hint: String?
    public var required: Bool
    public var maxLength: Int
    public var options: [String]?

    public init(id: String, type: Kind, label: String, hint: String? = nil, required: Bool, maxLength: Int = 200, options: [String]? = nil) {
        self.id = id; self.type = type; self.label = label; self.hint = hint
        self.required = required; self.maxLength = maxLength; self.options = options
    }

    enum CodingKeys: String, CodingKey { case id, type, label, hint, required, maxLength, options }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        type = try c.decode(Kind.self, forKey: .type)
        label = try c.decodeIfPresent(String.self, forKey: .label) ?? id
        hint = try c.decodeIfPresent(String.self, forKey: .hint)
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength) ?? 200
        options = try c.decodeIfPresent([String].self, forKey: .options)
    }

    /// Name, email, subject, message: the default pre-chat form.
    public static let defaults: [FormField] = [
        FormField(id: "name", type: .name, label: "Name", required: true, maxLength: 80),
        FormField(id: "email", type: .email, label: "Email", required: true, maxLength: 254),
        FormField(id: "subject", type: .custom, label: "Subject", required: false, maxLength: 200),
        FormField(id: "message", type: .reason, label: "Message", required: true, maxLength: Limits.messageLength),
    ]
}

/// Server-wide limits on what clients send.
public enum Limits {
    /// Characters in one chat message or note.
    public static let messageLength = 4000
    /// Bytes of a JSON request body.
    public static let jsonBody = 64 * 1024
    /// Characters of a client message id.
    public static let clientIdLength = 64
    /// Characters of page URL / title / user agent kept at ticket start.
    public static let metaLength = 512
    /// Characters of a tag.
    public static let tagLength = 40
}

/// What the widget does while the shop is closed (outside hours) or away (no agent online, when
/// that counts as closed).
public struct OfflineBehaviour: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable { case message, hide }
    /// `message`: the chat shows a closed message; `hide`: no bubble at all (a visitor with a
    /// conversation under way still sees it).
    public var mode: Mode
    /// The closed message; nil = the built-in text in the visitor's language.
    public var message: String?
    /// Other ways to get in touch, shown with the closed message.
    public var contact: String?
    /// Whether a visitor may still leave a message (a ticket) while closed.
    public var leaveMessage: Bool
    /// Treat "no agent online" (within hours) as closed.
    public var noAgentAsClosed: Bool
    /// The message for "no agent online"; nil = built-in.
    public var awayMessage: String?

    public init(mode: Mode = .message, message: String? = nil, contact: String? = nil, leaveMessage: Bool = true,
                noAgentAsClosed: Bool = false, awayMessage: String? = nil) {
        self.mode = mode; self.message = message; self.contact = contact; self.leaveMessage = leaveMessage
        self.noAgentAsClosed = noAgentAsClosed; self.awayMessage = awayMessage
    }

    enum CodingKeys: String, CodingKey { case mode, message, contact, leaveMessage, noAgentAsClosed, awayMessage }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        self.init()
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? mode
        message = try c.decodeIfPresent(String.self, forKey: .message)
        contact = try c.decodeIfPresent(String.self, forKey: .contact)
        leaveMessage = try c.decodeIfPresent(Bool.self, forKey: .leaveMessage) ?? leaveMessage
        noAgentAsClosed = try c.decodeIfPresent(Bool.self, forKey: .noAgentAsClosed) ?? noAgentAsClosed
        awayMessage = try c.decodeIfPresent(String.self, forKey: .awayMessage)
    }
}

/// A proactive prompt: shown next to the bubble after `delay` seconds on a page, once per visit.
public struct ProactivePrompt: Codable, Sendable, Equatable {
    public var delay: Int
    public var title: String
    public var message: String
    public init(delay: Int, title: String, message: String) { self.delay = delay; self.title = title; self.message = message }

    enum CodingKeys: String, CodingKey { case delay, title, message }
    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        delay = try c.decodeIfPresent(Int.self, forKey: .delay) ?? 30
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        message = try c.decodeIfPresent(String.self, forKey: .message) ?? ""
    }
}

/// A bot option offered after the pre-chat form: it posts its own welcome and routes to a team.
public struct BotOption: Codable, Sendable, Equatable {
    public var label: String
    public var welcome: String?
    public var team: String?
    public init(label: String, welcome: String? = nil, team: String? = nil) { self.label = label; self.welcome = welcome; self.team = team }
}

/// A chat widget's settings. Unknown keys are ignored and missing ones take defaults, so older
/// config files keep loading as settings are added.
public struct Widget: Codable, Sendable, Equatable {
    /// Whose name the visitor sees on agent messages and "joined" notices.
    public enum IdentityMode: String, Codable, Sendable { case agent, organisation }
    public var id: String
    public var name: String
    public var welcome: String
    public var color: String
    public var alignment: String
    public var spacing: Int
    public var allowedOrigins: [String]
    public var fields: [FormField]
    public var feedback: Bool
    public var targetResponseSeconds: Int
    public var maxFileSize: Int
    public var maxFiles: Int
    /// Attachment types accepted, decided by content (see `MimePolicy`); `type/*` and `prefix*` patterns.
    public var allowedTypes: [String]
    public var typingPreview: Bool
    /// Opening hours; nil = always open.
    public var hours: Hours?
    public var pathRules: PathRules
    public var offline: OfflineBehaviour
    /// `auto` (the visitor's browser), `en` or `fr`.
    public var language: String
    /// Per-language replacements of the widget's built-in visitor-facing strings.
    public var strings: [String: [String: String]]
    public var identity: IdentityMode
    /// The organisation's name shown instead of agents' names; nil = the widget's name.
    public var organisation: String?
    public var sound: Bool
    public var prompt: ProactivePrompt?
    public var options: [BotOption]
    /// Secret for `Parley('identify', …)` signatures; nil = identities are unverified prefills.
    public var identitySecret: String?

    public init(id: String, name: String) {
        self.id = id; self.name = name
        welcome = "Hi! How can we help you today?"
        color = "#2f6fed"; alignment = "right"; spacing = 25
        allowedOrigins = []; fields = FormField.defaults; feedback = true
        targetResponseSeconds = 120; maxFileSize = 5 * 1024 * 1024; maxFiles = 5; typingPreview = false
        allowedTypes = MimePolicy.defaultAllowed
        hours = nil; pathRules = .everywhere
        offline = OfflineBehaviour(); language = "auto"; strings = [:]; identity = .agent; organisation = nil
        sound = false; prompt = nil; options = []; identitySecret = nil
    }

    /// The name the visitor sees for the shop's side when the widget shows the organisation's identity.
    public var organisationName: String { organisation?.nilIfBlank ?? name }

    enum CodingKeys: String, CodingKey {
        case id, name, welcome, color, alignment, spacing, allowedOrigins, fields, feedback
        case targetResponseSeconds, maxFileSize, maxFiles, allowedTypes, typingPreview, hours, pathRules
        case offline, language, strings, identity, organisation, sound, prompt, options, identitySecret
    }

    /// Every key, unset ones as `null`, so the admin page sees the whole shape.
    public func encode(to e: any Encoder) throws {
        var c = e.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(name, forKey: .name); try c.encode(welcome, forKey: .welcome)
        try c.encode(color, forKey: .color); try c.encode(alignment, forKey: .alignment); try c.encode(spacing, forKey: .spacing)
        try c.encode(allowedOrigins, forKey: .allowedOrigins); try c.encode(fields, forKey: .fields)
        try c.encode(feedback, forKey: .feedback); try c.encode(targetResponseSeconds, forKey: .targetResponseSeconds)
        try c.encode(maxFileSize, forKey: .maxFileSize); try c.encode(maxFiles, forKey: .maxFiles)
        try c.encode(allowedTypes, forKey: .allowedTypes); try c.encode(typingPreview, forKey: .typingPreview)
        try c.encode(hours, forKey: .hours); try c.encode(pathRules, forKey: .pathRules); try c.encode(offline, forKey: .offline)
        try c.encode(language, forKey: .language); try c.encode(strings, forKey: .strings); try c.encode(identity, forKey: .identity)
        try c.encode(organisation, forKey: .organisation); try c.encode(sound, forKey: .sound); try c.encode(prompt, forKey: .prompt)
        try c.encode(options, forKey: .options); try c.encode(identitySecret, forKey: .identitySecret)
    }

    public init(from d: any Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        let id = try c.decode(String.self, forKey: .id)
        self.init(id: id, name: try c.decodeIfPresent(String.self, forKey: .name) ?? id)
        welcome = try c.decodeIfPresent(String.self, forKey: .welcome) ?? welcome
        color = try c.decodeIfPresent(String.self, forKey: .color) ?? color
        alignment = try c.decodeIfPresent(String.self, forKey: .alignment) ?? alignment
        spacing = try c.decodeIfPresent(Int.self, forKey: .spacing) ?? spacing
        allowedOrigins = try c.decodeIfPresent([String].self, forKey: .allowedOrigins) ?? allowedOrigins
        fields = try c.decodeIfPresent([FormField].self, forKey: .fields) ?? fields
        feedback = try c.decodeIfPresent(Bool.self, forKey: .feedback) ?? feedback
        targetResponseSeconds = try c.decodeIfPresent(Int.self, forKey: .targetResponseSeconds) ?? targetResponseSeconds
        maxFileSize = try c.decodeIfPresent(Int.self, forKey: .maxFileSize) ?? maxFileSize
        maxFiles = try c.decodeIfPresent(Int.self, forKey: .maxFiles) ?? maxFiles
        allowedTypes = try c.decodeIfPresent([String].self, forKey: .allowedTypes) ?? allowedTypes
        typingPreview = try c.decodeIfPresent(Bool.self, forKey: .typingPreview) ?? typingPreview
        hours = try c.decodeIfPresent(Hours.self, forKey: .hours)
        pathRules = try c.decodeIfPresent(PathRules.self, forKey: .pathRules) ?? .everywhere
        offline = try c.decodeIfPresent(OfflineBehaviour.self, forKey: .offline) ?? offline
        language = try c.decodeIfPresent(String.self, forKey: .language) ?? language
        strings = try c.decodeIfPresent([String: [String: String]].self, forKey: .strings) ?? strings
        identity = try c.decodeIfPresent(IdentityMode.self, forKey: .identity) ?? identity
        organisation = try c.decodeIfPresent(String.self, forKey: .organisation)
        sound = try c.decodeIfPresent(Bool.self, forKey: .sound) ?? sound
        prompt = try c.decodeIfPresent(ProactivePrompt.self, forKey: .prompt)
        options = try c.decodeIfPresent([BotOption].self, forKey: .options) ?? options
        identitySecret = try c.decodeIfPresent(String.self, forKey: .identitySecret)
    }

    /// Whether the chat takes new conversations now, and if not why.
    public enum Availability: String, Sendable { case open, closed, away }

    /// Open, closed (outside hours) or away (within hours, no agent online, and the widget counts
    /// that as closed), with the next opening when closed.
    public func availability(at now: Date, agentOnline: Bool) -> (Availability, Date?) {
        let status = hours?.status(at: now) ?? (open: true, nextOpening: nil)
        if !status.open { return (.closed, status.nextOpening) }
        if offline.noAgentAsClosed && !agentOnline { return (.away, nil) }
        return (.open, nil)
    }

    /// The `demo` widget a fresh data folder gets: shows everywhere, always open, any origin.
    public static var demo: Widget {
        var w = Widget(id: "demo", name: "Hearth & Hollow")
        w.welcome = "Hi! Ask us anything about our products."
        return w
    }

    /// Whether an identity signature can be checked (the widget has a secret).
    public var verifiesIdentity: Bool { identitySecret?.nilIfBlank != nil }

    /// Whether a browser origin may use this widget: an empty list allows any origin.
    public func allows(origin: String) -> Bool {
        allowedOrigins.isEmpty || allowedOrigins.contains { $0.lowercased() == origin.lowercased() }
    }

    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 40 && id.utf8.allSatisfy {
            (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
    }
}

/// Validates pre-chat form answers against a widget's fields.
public enum FormValidator {
    /// Returns the cleaned answers, or throws `.invalid` naming every bad field.
    public static func validate(_ answers: [String: String], fields: [FormField]) throws -> [String: String] {
        var errors: [String: String] = [:]
        var clean: [String: String] = [:]
        let known = Set(fields.map(\.id))
        for key in answers.keys where !known.contains(key) {
            errors[key] = "Unknown field."
        }
        for f in fields {
            let value = (answers[f.id] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if value.isEmpty {
                if f.required { errors[f.id] = "\(f.label) cannot be empty." }
                continue
            }
            if value.count > f.maxLength {
                errors[f.id] = "\(f.label) is too long (at most \(f.maxLength) characters)."
                continue
            }
            switch f.type {
            case .email:
                if !isEmail(value) { errors[f.id] = "\(f.label) is not a valid email address." ; continue }
            case .phone:
                let allowed = CharacterSet(charactersIn: "+0123456789 ()-./")
                if value.unicodeScalars.contains(where: { !allowed.contains($0) }) || value.filter(\.isNumber).count < 4 {
                    errors[f.id] = "\(f.label) is not a valid phone number."; continue
                }
            case .category:
                if let opts = f.options, !opts.contains(value) {
                    errors[f.id] = "\(f.label) must be one of: \(opts.joined(separator: ", "))."; continue
                }
            default: break
            }
            if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
                errors[f.id] = "\(f.label) contains control characters."; continue
            }
            clean[f.id] = f.type == .email ? value.lowercased() : value
        }
        if !errors.isEmpty { throw ParleyError.invalid(errors) }
        return clean
    }

    /// A pragmatic email check: one @, a non-empty local part, a dotted domain, no spaces.
    public static func isEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let domain = parts[1]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else { return false }
        return !s.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," })
    }
}

extension String {
    /// nil when the string is empty or only whitespace.
    public var nilIfBlank: String? { allSatisfy(\.isWhitespace) ? nil : self }
}
