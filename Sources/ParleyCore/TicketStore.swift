import Foundation
import Logging
import Synchronization

/// The outcome of an append: the stored events and whether they were already there (a retry).
public struct AppendResult: Sendable {
    public var events: [TicketEvent]
    public var duplicate: Bool
    public var summary: TicketSummary
}

/// Called after events are durable, in seq order per ticket.
public typealias CommitObserver = @Sendable (TicketSummary, [TicketEvent]) -> Void

/// The ticket store: one append-only log per ticket, one writer actor per ticket, a shared group
/// committer, and an in-memory index of summaries rebuilt at start-up by folding the logs.
public final class TicketStore: Sendable {
    public let layout: DataLayout
    let committer: GroupCommitter
    let logger: Logger
    let now: @Sendable () -> Date
    private let index = Mutex<[String: TicketSummary]>([:])
    private let writers = Mutex<[String: TicketWriter]>([:])
    /// Set once at init: reading a closure out of a Mutex re-wraps it on every call (a compiler
    /// reabstraction quirk that grew the stack until it overflowed under load).
    private let observer: CommitObserver?

    /// Opens the store. Call `load()` before anything else: it replays the journal.
    public init(layout: DataLayout, logger: Logger, syncCalls: SyncCalls = .live,
                now: @escaping @Sendable () -> Date = { Date() }, observer: CommitObserver? = nil,
                checkpointInterval: TimeInterval = 2) throws {
        self.layout = layout
        self.observer = observer
        try layout.create()
        self.committer = try GroupCommitter(calls: syncCalls, journalPath: layout.journal, checkpointInterval: checkpointInterval)
        self.logger = logger
        self.now = now
    }

    /// Stops the committer after queued writes and a last checkpoint are done, then saves the
    /// summary cache (only when every write made it to disk).
    public func shutdown() {
        committer.shutdownAndWait()
        if committer.poisonReason == nil {
            do { try saveSummaryCache() } catch {
                logger.warning("could not save the summary cache; the next start folds every log", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The cache: each ticket's summary with its log's size and modification time when saved.
    /// A log whose size or mtime differs at start-up (it grew, was repaired, or was edited) is
    /// folded again; a cache that does not parse is ignored. It is only ever a shortcut.
    struct SummaryCache: Codable {
        struct Entry: Codable { var size: Int64; var mtime: Int64; var summary: TicketSummary }
        var version = 1
        /// `TicketSummary.foldVersion` when saved: a newer fold ignores older summaries.
        var fold = TicketSummary.foldVersion
        var entries: [String: Entry] = [:]
    }

    static func fileStat(_ path: String) -> (size: Int64, mtime: Int64)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    func saveSummaryCache() throws {
        var cache = SummaryCache()
        for s in summaries() {
            guard let path = layout.ticketPath(s.id), let st = Self.fileStat(path) else { continue }
            cache.entries[s.id] = .init(size: st.size, mtime: st.mtime, summary: s)
        }
        try Durable.replace(path: layout.summaryCache, bytes: Array(try JSONEncoder().encode(cache)))
    }

    func readSummaryCache() -> [String: SummaryCache.Entry] {
        guard let data = FileManager.default.contents(atPath: layout.summaryCache) else { return [:] }
        guard let cache = try? JSONDecoder().decode(SummaryCache.self, from: data), cache.version == 1,
              cache.fold == TicketSummary.foldVersion else {
            logger.warning("ignoring an unreadable summary cache; folding every log")
            return [:]
        }
        return cache.entries
    }

    deinit {
        committer.shutdownAndWait()
        barrier.withLock { if $0 >= 0 { close($0) } }
    }

    public var commitStats: CommitStats { committer.stats }
    /// See `GroupCommitter.batchObserver`.
    public func observeBatches(_ f: @escaping @Sendable (Int, UInt64) -> Void) { committer.batchObserver.withLock { $0 = f } }
    /// Why writes are refused (after a failed write or sync), or nil when the store is healthy.
    public var unavailableReason: String? { committer.poisonReason }

    /// What start-up found.
    public struct LoadReport: Sendable {
        public var tickets = 0
        public var events = 0
        public var recovered: [String] = []
        public var damaged: [String] = []
        /// Journal records that were missing from their logs (a crash before a checkpoint).
        public var replayed = 0
        /// Tickets whose summary came from the cache saved at the last clean shutdown.
        public var fromCache = 0
    }

    /// Replays the journal into the logs, then scans every log: cuts torn tails into quarantine,
    /// reports damage, folds summaries.
    @discardableResult
    public func load() throws -> LoadReport {
        var report = LoadReport()
        // After a kill -9 the previous process's writes may sit only in the page cache, among
        // them lines of a batch whose journal sync failed (never acknowledged, but a retry would
        // now find them): make everything durable once before serving anything.
        sync()
        let replay = try Journal.recover(layout: layout, logger: logger)
        report.replayed = replay.replayed
        // Logs are independent: fold them on every core.
        let paths = try Self.logPaths(layout: layout)
        let cache = readSummaryCache()
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, paths.count))
        let parts = Mutex<[(summaries: [String: TicketSummary], report: LoadReport, error: (any Error)?)]>([])
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            var local: [String: TicketSummary] = [:]
            var r = LoadReport()
            do {
                var i = lane
                while i < paths.count {
                    try loadOne(path: paths[i], cache: cache, into: &local, report: &r)
                    i += lanes
                }
                parts.withLock { $0.append((local, r, nil)) }
            } catch {
                parts.withLock { $0.append((local, r, error)) }
            }
        }
        var summaries: [String: TicketSummary] = [:]
        for part in parts.withLock({ $0 }) {
            if let e = part.error { throw e }
            summaries.merge(part.summaries) { a, _ in a }
            report.tickets += part.report.tickets
            report.events += part.report.events
            report.recovered += part.report.recovered
            report.damaged += part.report.damaged
            report.fromCache += part.report.fromCache
        }
        report.recovered.sort(); report.damaged.sort()
        index.withLock { $0 = summaries }
        return report
    }

    /// Reads one log at start-up: recovers it and folds its summary.
    private func loadOne(path: String, cache: [String: SummaryCache.Entry],
                         into summaries: inout [String: TicketSummary], report: inout LoadReport) throws {
        let id = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        guard TicketID.isValid(id) else {
            logger.warning("ignoring a file that is not a ticket log", metadata: ["path": "\(path)"])
            return
        }
        if let cached = cache[id], let st = Self.fileStat(path), st.size == cached.size, st.mtime == cached.mtime {
            summaries[id] = cached.summary
            report.tickets += 1
            report.events += cached.summary.lastSeq
            report.fromCache += 1
            if cached.summary.damaged {
                report.damaged.append(id)
                logger.error("ticket log is damaged; the ticket is read-only until repaired", metadata: ["ticket": "\(id)"])
            }
            return
        }
        var contents = try TicketLog.read(path: path)
        if contents.events.isEmpty && contents.damage.isEmpty {
            // Nothing complete in it: a crash while the ticket was being created, before its
            // first record was synced and acknowledged. Keep the bytes, drop the ticket.
            let q = try TicketLog.quarantineWhole(path: path, quarantineDir: layout.quarantine)
            logger.warning("moved a ticket log with no complete event to quarantine", metadata: [
                "ticket": "\(id)", "bytes": "\(contents.tornTail.count)", "quarantine": "\(q)"])
            report.recovered.append(id)
            return
        }
        if !contents.tornTail.isEmpty {
            let q = try TicketLog.cutTornTail(path: path, contents: contents, quarantineDir: layout.quarantine)
            logger.warning("cut a torn tail off a ticket log", metadata: [
                "ticket": "\(id)", "bytes": "\(contents.tornTail.count)", "quarantine": "\(q ?? "")"])
            report.recovered.append(id)
            contents.tornTail = []
        }
        guard !contents.events.isEmpty else {
            logger.error("ticket log has no readable event", metadata: ["ticket": "\(id)"])
            report.damaged.append(id)
            return
        }
        var s = TicketSummary(id: id)
        for e in contents.events { s.apply(e) }
        if !contents.damage.isEmpty {
            s.damaged = true
            report.damaged.append(id)
            logger.error("ticket log is damaged; the ticket is read-only until repaired", metadata: [
                "ticket": "\(id)", "damage": "\(contents.damage.joined(separator: "; "))"])
        }
        summaries[id] = s
        report.tickets += 1
        report.events += contents.events.count
    }

    /// Every `tickets/YYYY-MM/*.jsonl`, sorted.
    public static func logPaths(layout: DataLayout) throws -> [String] {
        let fm = FileManager.default
        guard let months = try? fm.contentsOfDirectory(atPath: layout.tickets) else { return [] }
        var out: [String] = []
        for m in months.sorted() where !m.hasPrefix(".") {
            let dir = "\(layout.tickets)/\(m)"
            guard let files = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for f in files.sorted() where f.hasSuffix(".jsonl") { out.append("\(dir)/\(f)") }
        }
        return out
    }

    // MARK: reading

    public func summary(_ id: String) -> TicketSummary? { index.withLock { $0[id] } }

    public func summaries(where keep: (TicketSummary) -> Bool = { _ in true }) -> [TicketSummary] {
        index.withLock { $0.values.filter(keep) }
    }

    /// Durable events after `after`, in seq order.
    public func events(ticket id: String, after: Int = 0) async throws -> [TicketEvent] {
        try await writer(id).events(after: after)
    }

    /// Whether `token` is the visitor token of ticket `id` (constant-time).
    public func visitorTokenMatches(ticket id: String, token: String) -> Bool {
        guard let s = summary(id), !s.tokenHash.isEmpty else { return false }
        return Tokens.matches(token: token, hash: s.tokenHash)
    }

    // MARK: writing

    /// Opens a new ticket: writes `opened` (and any following drafts, e.g. the first message) as
    /// the first records of a new log. Returns the summary and the visitor's bearer token, which
    /// is stored only as a hash.
    public func createTicket(opened: TicketEvent, then more: [TicketEvent] = []) async throws -> (TicketSummary, String) {
        if let reason = committer.poisonReason { throw ParleyError.storeUnavailable(reason) }
        let token = Tokens.random()
        var first = opened
        first.type = EventType.opened
        first.tokenHash = Tokens.hash(token)
        var id = TicketID.make(now: now())
        while summary(id) != nil { id = TicketID.make(now: now()) }
        guard let path = layout.ticketPath(id) else { throw ParleyError.io("bad ticket id") }
        try Durable.makeDirectory((path as NSString).deletingLastPathComponent)
        let w = try TicketWriter(newTicket: id, path: path, store: self)
        writers.withLock { $0[id] = w }
        let result = try await w.append([first] + more, clientId: more.first?.clientId)
        return (result.summary, token)
    }

    /// Appends events to a ticket. With a `clientId`, a retry returns the stored events instead
    /// of writing them twice.
    public func append(ticket id: String, _ drafts: [TicketEvent], clientId: String? = nil) async throws -> AppendResult {
        guard summary(id) != nil else { throw ParleyError.ticketNotFound }
        return try await writer(id).append(drafts, clientId: clientId)
    }

    /// Appends what `build` makes of the ticket's current state (checked inside its writer, so
    /// concurrent callers see each other's effects). `build` returning no events appends nothing.
    public func update(ticket id: String, _ build: @Sendable (TicketSummary) throws -> [TicketEvent]) async throws -> AppendResult {
        guard summary(id) != nil else { throw ParleyError.ticketNotFound }
        return try await writer(id).update(build)
    }

    /// Takes tickets out while serving (the admin's erase and purge), before their files are
    /// deleted: they leave the index (every call answers "not found"), their writers refuse
    /// further appends, and this returns once everything they had queued is in their logs and the
    /// journal no longer holds it (so a crash afterwards can never bring them back by replay),
    /// and once their logs' fds are out of the committer's hands (so they can be closed).
    /// If it fails (a poisoned store, no checkpoint in time), the tickets are put back as they
    /// were and their writers kept (the committer may still sync their fds).
    public func forget(_ ids: [String], timeout: Duration = .seconds(30)) async throws {
        var retired: [TicketWriter] = []
        var removed: [String: TicketSummary] = [:]
        for id in ids {
            if let s = index.withLock({ $0.removeValue(forKey: id) }) { removed[id] = s }
            if let w = writers.withLock({ $0[id] }) { await w.retire(); retired.append(w) }
        }
        do {
            try await waitUntilJournaled(retired: !retired.isEmpty, timeout: timeout)
        } catch {
            for w in retired { await w.unretire() }
            index.withLock { for (id, s) in removed { $0[id] = s } }
            throw error
        }
        writers.withLock { d in for id in ids { d[id] = nil } }
    }

    private func waitUntilJournaled(retired: Bool, timeout: Duration) async throws {
        guard retired else { return }  // nothing of theirs was written by this run
        // Committed after every batch they queued (one committer thread, in order). Its fd is the
        // data folder's, open for the store's life (a checkpoint may sync it at any time).
        let fd = barrierFD
        guard fd >= 0 else { throw ParleyError.io("cannot open \(layout.root): \(errnoString())") }
        try await committer.commit(fd: fd, bytes: [])
        let before = committer.stats.checkpoints
        let deadline = ContinuousClock.now + timeout
        while committer.stats.checkpoints == before {
            // An empty journal: nothing of theirs is in it, and their logs were synced.
            var st = stat()
            if stat(layout.journal, &st) == 0, st.st_size == 0 { break }
            if let reason = committer.poisonReason { throw ParleyError.storeUnavailable(reason) }
            guard ContinuousClock.now < deadline else { throw ParleyError.io("no checkpoint within \(timeout); try again") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The data folder, opened once: the barrier `forget` sends through the committer.
    private var barrierFD: Int32 { barrier.withLock { fd in
        if fd < 0 { fd = open(layout.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        return fd
    } }
    private let barrier = Mutex<Int32>(-1)

    func writer(_ id: String) throws -> TicketWriter {
        if let w = writers.withLock({ $0[id] }) { return w }
        guard let path = layout.ticketPath(id) else { throw ParleyError.ticketNotFound }
        // Created under the lock: two writers for one log could read it while the other writes.
        // The index is checked under it too: `forget` (index first, then writers) never misses one.
        return try writers.withLock { dict in
            if let w = dict[id] { return w }
            guard summary(id) != nil else { throw ParleyError.ticketNotFound }
            let loaded = try TicketWriter(existing: id, path: path, store: self)
            dict[id] = loaded
            return loaded
        }
    }

    func didCommit(_ summary: TicketSummary, _ events: [TicketEvent]) {
        index.withLock { $0[summary.id] = summary }
        observer?(summary, events)
    }
}

/// The single writer of one ticket's log: assigns seqs, queues lines to the group committer in
/// order, and publishes events only once they are durable.
actor TicketWriter {
    let id: String
    let path: String
    private unowned let store: TicketStore
    private var fd: Int32 = -1
    private var isNewFile: Bool
    private var events: [TicketEvent]
    private var summary: TicketSummary
    /// `summary` plus the events queued but not yet durable.
    private var pendingSummary: TicketSummary
    private var nextSeq: Int
    /// Keyed by `dedupeKey` (sender kind and client id).
    private var clientIds: [String: ClosedRange<Int>] = [:]
    private var inflight: [String: (CommitHandle, [TicketEvent])] = [:]
    private var committed: [Int: TicketEvent] = [:]

    init(newTicket id: String, path: String, store: TicketStore) throws {
        self.id = id; self.path = path; self.store = store
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ParleyError.io("cannot create \(path): \(errnoString())") }
        isNewFile = true
        events = []
        summary = TicketSummary(id: id)
        pendingSummary = summary
        nextSeq = 1
    }

    init(existing id: String, path: String, store: TicketStore) throws {
        self.id = id; self.path = path; self.store = store
        let contents = try TicketLog.read(path: path)
        events = contents.events
        var s = TicketSummary(id: id)
        for e in events { s.apply(e) }
        // Start-up cut every torn tail, and this is the log's only writer; one now means the file
        // changed behind our back: never cut while serving, make the ticket read-only instead.
        s.damaged = !contents.damage.isEmpty || !contents.tornTail.isEmpty
        if !contents.tornTail.isEmpty {
            store.logger.error("ticket log changed behind the server's back; ticket is read-only", metadata: ["ticket": "\(id)"])
        }
        summary = s
        pendingSummary = s
        nextSeq = (events.last?.seq ?? 0) + 1
        isNewFile = false
        for e in events {
            if let c = e.clientId {
                let key = Self.dedupeKey(e.by, c)
                clientIds[key] = clientIds[key].map { $0.lowerBound...e.seq } ?? e.seq...e.seq
            }
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Set by `retire`: the ticket is being erased; appends are refused.
    private var retired = false

    /// Refuses appends from now on.
    func retire() {
        retired = true
    }

    func unretire() {
        retired = false
    }

    func events(after: Int) -> [TicketEvent] {
        // seqs are 1…n without gaps, so the index of seq k is k-1 (unless the log is damaged).
        if !summary.damaged, after >= 0, after < events.count, events[after].seq == after + 1 {
            return Array(events[after...])
        }
        return events.filter { $0.seq > after }
    }

    /// Client ids are per sender: a visitor cannot pre-empt an agent's id (they see agents'
    /// client ids in the events), nor one agent another's.
    static func dedupeKey(_ by: EventActor, _ clientId: String) -> String { "\(by.kind.rawValue):\(by.id ?? ""):\(clientId)" }

    /// Appends the events `build` makes from the ticket's current state, decided inside this
    /// actor so that two callers (two agents opening at once) cannot both act on a stale state.
    func update(_ build: (TicketSummary) throws -> [TicketEvent]) async throws -> AppendResult {
        // Built on the state including appends still being synced: this actor is re-entered
        // while an earlier append awaits its sync.
        let drafts = try build(pendingSummary)
        if drafts.isEmpty { return AppendResult(events: [], duplicate: false, summary: summary) }
        return try await append(drafts, clientId: nil)
    }

    func append(_ drafts: [TicketEvent], clientId: String?) async throws -> AppendResult {
        if retired { throw ParleyError.ticketNotFound }
        if summary.damaged {
            throw ParleyError.conflict("This ticket's log is damaged and read-only; run `parley check`.")
        }
        let key = clientId.flatMap { c in drafts.first { $0.clientId == c }.map { Self.dedupeKey($0.by, c) } }
        if let key {
            if let range = clientIds[key] {
                // Durable; maybe not yet published if an earlier seq is still completing.
                let found = (events.filter { range.contains($0.seq) } + committed.values.filter { range.contains($0.seq) })
                    .sorted { $0.seq < $1.seq }
                return AppendResult(events: found, duplicate: true, summary: summary)
            }
            if let (handle, evs) = inflight[key] {
                try await handle.wait()
                return AppendResult(events: evs, duplicate: true, summary: summary)
            }
        }
        if fd < 0 {
            fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard fd >= 0 else { throw ParleyError.io("cannot open \(path): \(errnoString())") }
        }
        let at = Timestamp.format(store.now())
        var prepared: [TicketEvent] = []
        var bytes: [UInt8] = []
        for var d in drafts {
            d.seq = nextSeq; d.at = at
            nextSeq += 1
            bytes += d.json(forLog: true); bytes.append(0x0A)
            prepared.append(d)
            pendingSummary.apply(d)
        }
        let dir = isNewFile ? (path as NSString).deletingLastPathComponent : nil
        isNewFile = false
        // Submitted synchronously inside this actor turn, so lines reach the file in seq order.
        let handle = store.committer.submit(fd: fd, bytes: bytes, ticket: id, newFileDirectory: dir)
        if let key, let c = clientId { inflight[key] = (handle, prepared.filter { $0.clientId == c }) }
        defer { if let key { inflight[key] = nil } }
        try await handle.wait()
        let carrying = prepared.filter { $0.clientId == clientId }
        if let key, let first = carrying.first, let last = carrying.last { clientIds[key] = first.seq...last.seq }
        for e in prepared { committed[e.seq] = e }
        // Publish in seq order even if continuations resume out of order.
        var published: [TicketEvent] = []
        while let e = committed.removeValue(forKey: (events.last?.seq ?? 0) + 1) {
            events.append(e); summary.apply(e); published.append(e)
        }
        if !published.isEmpty { store.didCommit(summary, published) }
        return AppendResult(events: prepared, duplicate: false, summary: summary)
    }
}
