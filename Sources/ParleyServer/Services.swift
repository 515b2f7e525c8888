import Foundation
import Hummingbird
import NIOSSL
import Logging
import ParleyCore
import Synchronization

/// Settings of `parley serve`.
public struct ServerSettings: Sendable {
    public var dataDirectory = "./data"
    public var host = "127.0.0.1"
    public var port = 8080
    /// Folder of the widget, inbox and demo pages.
    public var publicDirectory = "./Public"
    /// A connection that sends nothing (or only part of a request) for this long is closed.
    public var idleTimeoutSeconds: Double = 30
    /// Comment lines on live streams this often.
    public var heartbeatSeconds: Double = 15
    /// Longest `wait=` a long-poll may ask for.
    public var maxLongPollSeconds: Double = 30
    public var rateLimits = true
    /// `POST /api/bench/noop`, used by `make bench` to price durability.
    public var benchEndpoints = false
    /// The address the shop and the agents use (`https://chat.example.com`), behind a proxy:
    /// links (invites, setup) and the embed code use it. Nil: the request's own host.
    public var publicURL: String?
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    public var trustedProxies: Set<String> = ["127.0.0.1", "::1"]
    /// TLS served by parley itself (`--tls-cert`, `--tls-key`), with HTTP/2 offered by ALPN.
    public var tlsConfiguration: TLSConfiguration?
    public var tls: Bool { tlsConfiguration != nil }
    /// Longest a graceful shutdown may take before what is left is cancelled.
    public var shutdownTimeoutSeconds: Double = 10
    /// `POST /api/test/clock`: tests set the time opening hours are judged by.
    public var testClock = false
    /// Items a live stream may lag behind before it is cut off.
    public var streamBufferLimit = 512
    /// An unfinished upload is removed this long after its last byte.
    public var uploadExpirySeconds: Double = 24 * 3600
    /// How often expired uploads are swept (also once at start-up).
    public var uploadSweepSeconds: Double = 3600
    public init() {}
}

/// Everything the routes share: the core stores, live hub, limits, sessions.
public final class ParleyServices: Sendable {
    public let settings: ServerSettings
    public let layout: DataLayout
    public let store: TicketStore
    public let config: ConfigStore
    public let secret: ServerSecret
    public let limiter: RateLimiter
    public let sessions: Sessions
    public let logger: Logger
    public let uploads: UploadStore
    public let contacts: ContactStore
    public let audit: AuditLog
    public let metrics = ParleyMetrics()
    let sniffer: MimeSniffer
    let hub: LiveHub
    let assets: AssetStore
    /// Holds the data folder's lock for the server's lifetime.
    private let lockFD: Int32
    private let setupTokenBox = Mutex<String?>(nil)
    /// Set by `POST /api/test/clock` (only with `--test-clock`).
    private let clockOverride = Mutex<Date?>(nil)

    /// Opens (and if needed creates) the data folder, recovers the logs and builds the index.
    public init(settings: ServerSettings, logger: Logger, syncCalls: SyncCalls = .live) throws {
        self.settings = settings
        self.logger = logger
        layout = DataLayout(root: settings.dataDirectory)
        try layout.create()
        lockFD = try layout.lock()
        config = try ConfigStore(layout: layout)
        if try config.ensureDemoWidget() {
            logger.notice("created the demo widget", metadata: ["widget": "demo"])
        }
        secret = try ServerSecret.loadOrCreate(layout: layout)
        contacts = try ContactStore(layout: layout)
        audit = AuditLog(layout: layout)
        let hub = LiveHub(bufferLimit: settings.streamBufferLimit)
        self.hub = hub
        store = try TicketStore(layout: layout, logger: logger, syncCalls: syncCalls,
                                observer: { summary, events in hub.publish(summary, events) })
        let metrics = self.metrics
        store.observeBatches { records, nanos in
            metrics.syncLatency.recordNanoseconds(Int64(nanos))
            metrics.batchSize.record(Double(records))
        }
        let started = Date()
        let report = try store.load()
        logger.notice("loaded tickets", metadata: [
            "tickets": "\(report.tickets)", "events": "\(report.events)",
            "recovered": "\(report.recovered.count)", "damaged": "\(report.damaged.count)",
            "cached": "\(report.fromCache)", "replayed": "\(report.replayed)",
            "ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        uploads = UploadStore(layout: layout, ttl: settings.uploadExpirySeconds)
        let uploadReport = try uploads.load()
        logger.notice("loaded uploads", metadata: ["kept": "\(uploadReport.kept)", "removed": "\(uploadReport.removed)",
                                                   "finishing": "\(uploadReport.pending.count)"])
        sniffer = try MimeSniffer()
        assets = AssetStore(root: settings.publicDirectory)
        limiter = RateLimiter(enabled: settings.rateLimits)
        sessions = Sessions(secret: secret)
    }

    /// The base of links given out: the public URL, else the scheme and host the request used.
    func baseURL(_ request: Request, _ context: ParleyContext) -> String {
        if let u = settings.publicURL { return u }
        let host = request.head.authority ?? "\(settings.host):\(settings.port)"
        return "\(context.isHTTPS ? "https" : "http")://\(host)"
    }

    /// The time opening hours are judged by: now, unless a test set the clock.
    public func now() -> Date { clockOverride.withLock { $0 } ?? Date() }
    func setClock(_ date: Date?) { clockOverride.withLock { $0 = date } }

    /// Runs the automated actions for `trigger` on a ticket, inside its writer (so "once per
    /// ticket" holds against concurrent messages). A failure is logged, never the visitor's problem.
    func runRules(ticket id: String, trigger: AutomationRule.Trigger, message: String?) async {
        let rules = config.rules
        guard !rules.isEmpty, let summary = store.summary(id), let w = config.widget(summary.widget) else { return }
        let outside = !(w.hours?.status(at: now()).open ?? true)
        let online = agentOnline(forWidget: w.id)
        var names: [String: String] = [:]
        for a in config.agents where !a.disabled && a.canSee(widget: w.id) { names[a.id] = a.name }
        var fields: [String: String] = [:]
        if rules.contains(where: { $0.conditions.contains { $0.type == .fieldEquals } }),
           let opened = try? await store.events(ticket: id, after: 0).first(where: { $0.type == EventType.opened }) {
            fields = opened.fields ?? [:]
        }
        let organisation = w.organisationName
        let (answers, agentNames) = (fields, names)
        do {
            let r = try await store.update(ticket: id) { s in
                RuleEngine.evaluate(rules, .init(trigger: trigger, summary: s, message: message, fields: answers, outsideHours: outside,
                                                 agentOnline: online, organisation: organisation, agentNames: agentNames))
            }
            for e in r.events where e.type == EventType.autoresponder {
                logger.info("rule fired", metadata: ["ticket": "\(id)", "rule": "\(e.rule ?? "")"])
            }
        } catch {
            logger.warning("automated actions failed", metadata: ["ticket": "\(id)", "error": "\(error)"])
        }
    }

    /// Whether an agent who may answer `widget` has the inbox open (its live stream).
    func agentOnline(forWidget widget: String) -> Bool {
        let online = hub.onlineAgents
        guard !online.isEmpty else { return false }
        return config.agents.contains { online.contains($0.id) && !$0.disabled && $0.canSee(widget: widget) }
    }

    /// The one-time token of the first-admin link, while no admin exists.
    public var setupToken: String? {
        setupTokenBox.withLock { tok in
            if config.hasAdmin { tok = nil; return nil }
            if tok == nil { tok = Tokens.random(bytes: 18) }
            return tok
        }
    }

    private let setupLock = Mutex(())

    /// Creates the first admin with the one-time token. Input is validated before the token is
    /// spent, so a typo does not burn the printed link; setups are serialised so one link makes
    /// one admin.
    func completeSetup(token: String, email: String, name: String, password: String) throws -> Agent {
        try setupLock.withLock { _ in
            guard let current = setupToken else {
                throw ParleyError.conflict("setup_done")
            }
            guard Tokens.constantTimeEqual(current, token) else {
                throw ParleyError.forbidden("invalid_setup_token")
            }
            let agent = try config.addAgent(email: email, name: name, role: .admin, password: password, widgets: ["*"])
            setupTokenBox.withLock { $0 = nil }
            return agent
        }
    }

    /// Finishes an upload past its last byte: bytes moved to `attachments/`, the `attachment`
    /// event appended (deduplicated by the upload id), the done-marker written. Idempotent.
    func completeUpload(_ rec: UploadRecord, _ info: AttachmentInfo) async throws {
        let uploads = self.uploads
        do { try await blocking { try uploads.moveToAttachments(rec.id, info: info) } } catch let e as UploadError {
            throw UploadController.map(e)
        }
        var event = TicketEvent(type: EventType.attachment, by: rec.by)
        event.attachment = info
        event.clientId = rec.id
        _ = try await store.append(ticket: rec.ticket, [event], clientId: rec.id)
        try await blocking { try uploads.markDone(rec.id, info: info) }
    }

    /// Retries uploads left past their last byte (interrupted by a crash, or by a failure
    /// half-way): at start-up and at every sweep.
    func finishPendingAttachments() async {
        for rec in uploads.finishing() {
            guard let info = rec.finishing else { continue }
            do {
                try await completeUpload(rec, info)
                logger.notice("finished an interrupted upload", metadata: ["ticket": "\(rec.ticket)", "attachment": "\(rec.id)"])
            } catch {
                logger.warning("could not finish an interrupted upload", metadata: ["ticket": "\(rec.ticket)", "attachment": "\(rec.id)", "error": "\(error)"])
            }
        }
    }

    public func shutdown() {
        hub.finishAll()
        store.shutdown()
    }

    deinit { close(lockFD) }
}

/// Agent sessions: a signed cookie `agentID.expires.epoch.nonce.mac`. Survives restarts; a
/// password change or disable (epoch bump) ends all of an agent's sessions; logout revokes one.
public final class Sessions: Sendable {
    public static let cookieName = "parley_session"
    public static let lifetime: TimeInterval = 14 * 24 * 3600
    private let secret: ServerSecret
    private let revoked = Mutex<[String: TimeInterval]>([:])

    init(secret: ServerSecret) { self.secret = secret }

    public func create(for agent: Agent, now: Date = Date()) -> String {
        let exp = Int(now.timeIntervalSince1970 + Self.lifetime)
        let body = "\(agent.id).\(exp).\(agent.sessionEpoch).\(Tokens.random(bytes: 12))"
        return body + "." + secret.sign("session:" + body)
    }

    /// The agent a cookie value belongs to, if it is valid, unexpired, unrevoked and current.
    public func verify(_ value: String, config: ConfigStore, now: Date = Date()) -> Agent? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, let exp = Int(parts[1]), let epoch = Int(parts[2]) else { return nil }
        let body = parts[0..<4].joined(separator: ".")
        guard Tokens.constantTimeEqual(secret.sign("session:" + body), parts[4]) else { return nil }
        guard Double(exp) > now.timeIntervalSince1970 else { return nil }
        if revoked.withLock({ $0[parts[3]] != nil }) { return nil }
        guard let agent = config.agent(id: parts[0]), !agent.disabled, agent.sessionEpoch == epoch else { return nil }
        return agent
    }

    /// Revokes one session; only a valid cookie is remembered (so anonymous calls cannot grow
    /// the list), and only until it would have expired anyway.
    public func revoke(_ value: String, config: ConfigStore) {
        guard verify(value, config: config) != nil else { return }
        let parts = value.split(separator: ".")
        guard parts.count == 5, let exp = Double(parts[1]) else { return }
        let now = Date().timeIntervalSince1970
        revoked.withLock { r in
            r = r.filter { $0.value > now }
            r[String(parts[3])] = exp
        }
    }
}
