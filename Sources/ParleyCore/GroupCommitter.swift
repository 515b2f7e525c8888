import Foundation
import Synchronization

/// The sync calls the committer makes, as a seam so tests can make a sync fail.
public struct SyncCalls: Sendable {
    public var dataSync: @Sendable (Int32) -> Int32
    public var directorySync: @Sendable (Int32) -> Int32
    public init(dataSync: @escaping @Sendable (Int32) -> Int32,
                directorySync: @escaping @Sendable (Int32) -> Int32) {
        self.dataSync = dataSync; self.directorySync = directorySync
    }
    public static let live = SyncCalls(dataSync: { fdatasync($0) }, directorySync: { fsync($0) })
}

/// Counters the committer keeps (for metrics and the benchmark).
public struct CommitStats: Sendable {
    public var batches = 0
    public var records = 0
    public var largestBatch = 0
    public var syncNanos: UInt64 = 0
    public var checkpoints = 0
}

/// Group commit: writers queue their records; one thread writes the whole batch and syncs once,
/// and everyone in the batch is acknowledged only after that sync.
///
/// With a journal (what the store uses), a batch is appended to each ticket's log *and* to one
/// journal file, and only the journal is fdatasync'ed: one sequential sync per batch, however
/// many tickets it touched. The ticket logs are synced later, at a checkpoint (every couple of
/// seconds or few MB), after which the journal is emptied. After a crash, recovery replays
/// journal records missing from the logs (`Journal.recover`). Syncing each ticket log per batch
/// instead costs one page write-back per message, which is what dominated the CPU profile.
///
/// Without a journal, every file a batch touched is fdatasync'ed (concurrently when there are
/// several). A failed write or sync poisons the committer: the bytes may or may not be on disk,
/// so every later write is refused until a restart runs recovery.
public final class GroupCommitter: @unchecked Sendable {
    private struct Entry {
        let fd: Int32
        let bytes: [UInt8]
        let ticket: String?
        let newFileDirectory: String?
        let handle: CommitHandle
    }

    /// Journal mode: the journal's fd and what the next checkpoint must sync (committer thread only).
    private let journalFD: Int32?
    private var dirtyFDs = Set<Int32>()
    private var dirtyDirectories = Set<String>()
    private var journalBytes = 0
    private var checkpointDue: Date?
    private let checkpointInterval: TimeInterval
    private let checkpointBytes: Int
    private let stopped = DispatchSemaphore(value: 0)
    private var finished = false

    /// Threads that sync the files of one batch concurrently.
    public static let syncLanes = 8
    private let lanes = SyncLanes(count: GroupCommitter.syncLanes)

    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var poison: String?
    private var stopping = false
    private let calls: SyncCalls
    private let statsBox = Mutex(CommitStats())
    /// Called after every batch with its record count and how long its write and sync took
    /// (the server's metrics); never while a lock of the committer is held.
    public let batchObserver = Mutex<(@Sendable (Int, UInt64) -> Void)?>(nil)

    /// Syncs every file each batch touched (no journal).
    public convenience init(calls: SyncCalls = .live) {
        self.init(calls: calls, journalFD: nil, checkpointInterval: 0, checkpointBytes: 0)
    }

    /// Journal mode: syncs `journalPath` (created if missing) per batch instead of every log; the
    /// logs are synced and the journal emptied every `checkpointInterval` or `checkpointBytes`.
    public convenience init(calls: SyncCalls = .live, journalPath: String,
                            checkpointInterval: TimeInterval = 2, checkpointBytes: Int = 8 << 20) throws {
        let existed = FileManager.default.fileExists(atPath: journalPath)
        let fd = open(journalPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ParleyError.io("cannot open \(journalPath): \(errnoString())") }
        if !existed {
            do { try Durable.syncDirectory((journalPath as NSString).deletingLastPathComponent) } catch { close(fd); throw error }
        }
        self.init(calls: calls, journalFD: fd, checkpointInterval: checkpointInterval, checkpointBytes: checkpointBytes)
    }

    private init(calls: SyncCalls, journalFD: Int32?, checkpointInterval: TimeInterval, checkpointBytes: Int) {
        self.calls = calls
        self.journalFD = journalFD
        self.checkpointInterval = checkpointInterval
        self.checkpointBytes = checkpointBytes
        // The thread holds the committer until `shutdown()` lets it finish.
        let t = Thread { self.run() }
        t.name = "parley-commit"
        t.start()
    }

    public var stats: CommitStats { statsBox.withLock { $0 } }

    /// Why writes are refused, if they are.
    public var poisonReason: String? { condition.lock(); defer { condition.unlock() }; return poison }

    /// Queues `bytes` for `fd` at once (so records of one file reach it in the order queued) and
    /// returns a handle that completes when they are on disk. `newFileDirectory` names the folder
    /// of a file created for this record, which must be synced too. In journal mode `fd` must stay
    /// open until the next checkpoint has synced it (ticket writers keep theirs open).
    public func submit(fd: Int32, bytes: [UInt8], ticket: String? = nil, newFileDirectory: String? = nil) -> CommitHandle {
        let handle = CommitHandle()
        condition.lock()
        if let poison {
            condition.unlock()
            handle.complete(.failure(ParleyError.storeUnavailable(poison)))
            return handle
        }
        if stopping {
            condition.unlock()
            handle.complete(.failure(ParleyError.storeUnavailable("the server is shutting down")))
            return handle
        }
        pending.append(Entry(fd: fd, bytes: bytes, ticket: ticket, newFileDirectory: newFileDirectory, handle: handle))
        condition.signal()
        condition.unlock()
        return handle
    }

    /// Appends and waits until the bytes are on disk.
    public func commit(fd: Int32, bytes: [UInt8], ticket: String? = nil, newFileDirectory: String? = nil) async throws {
        try await submit(fd: fd, bytes: bytes, ticket: ticket, newFileDirectory: newFileDirectory).wait()
    }

    /// Finishes queued work, runs a last checkpoint (journal mode) and stops the thread.
    public func shutdown() {
        condition.lock(); stopping = true; condition.signal(); condition.unlock()
    }

    /// `shutdown()`, then waits until the thread has stopped (the last checkpoint is done),
    /// however many callers wait.
    public func shutdownAndWait() {
        condition.lock()
        stopping = true
        condition.signal()
        let done = finished
        condition.unlock()
        if !done { stopped.wait(); stopped.signal() }
    }

    deinit { if let journalFD { close(journalFD) } }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping {
                if let due = checkpointDue {
                    if !condition.wait(until: due) { break }
                } else {
                    condition.wait()
                }
            }
            let batch = pending
            pending = []
            let poisoned = poison
            let finishing = stopping && batch.isEmpty
            condition.unlock()

            if let poisoned {
                // No more checkpoints: the journal stays as it is for recovery at the next start
                // (and a due checkpoint would make the wait above return at once, forever).
                checkpointDue = nil
                for e in batch { e.handle.complete(.failure(ParleyError.storeUnavailable(poisoned))) }
                if finishing { lanes.stop(); markFinished(); return }
                continue
            }
            if !batch.isEmpty { commitBatch(batch) }
            if journalFD != nil, checkpointDue != nil,
               finishing || journalBytes >= checkpointBytes || (checkpointDue.map { Date() >= $0 } ?? false) {
                if let failure = checkpoint() { checkpointDue = nil; condition.lock(); poison = failure; condition.unlock() }
            }
            if finishing { lanes.stop(); markFinished(); return }
        }
    }

    private func markFinished() {
        condition.lock(); finished = true; condition.unlock()
        stopped.signal()
    }

    private func commitBatch(_ batch: [Entry]) {
            let started = DispatchTime.now().uptimeNanoseconds
            let failure = journalFD.map { journalBatch(batch, journal: $0) } ?? writeAndSync(batch)
            let elapsed = DispatchTime.now().uptimeNanoseconds - started
            statsBox.withLock {
                $0.batches += 1; $0.records += batch.count
                $0.largestBatch = max($0.largestBatch, batch.count); $0.syncNanos += elapsed
            }
            batchObserver.withLock { $0 }?(batch.count, elapsed)
            if let failure {
                condition.lock(); poison = failure; condition.unlock()
                for e in batch { e.handle.complete(.failure(ParleyError.storeUnavailable(failure))) }
            } else {
                for e in batch { e.handle.complete(.success(())) }
            }
    }

    /// Journal mode: append to the logs (not synced yet) and to the journal, sync the journal.
    private func journalBatch(_ batch: [Entry], journal: Int32) -> String? {
        var record: [UInt8] = []
        record.reserveCapacity(batch.reduce(0) { $0 + $1.bytes.count + 40 })
        for e in batch {
            do { try Durable.writeAll(fd: e.fd, bytes: e.bytes, path: "ticket log") } catch { return "\(error)" }
            dirtyFDs.insert(e.fd)
            if let d = e.newFileDirectory { dirtyDirectories.insert(d) }
            Journal.appendRecords(ticket: e.ticket ?? "", lines: e.bytes, to: &record)
        }
        do { try Durable.writeAll(fd: journal, bytes: record, path: "journal") } catch { return "\(error)" }
        guard calls.dataSync(journal) == 0 else { return "fdatasync of the journal failed: \(errnoString())" }
        journalBytes += record.count
        if checkpointDue == nil { checkpointDue = Date().addingTimeInterval(checkpointInterval) }
        return nil
    }

    /// Syncs every log written since the last checkpoint, then empties the journal.
    private func checkpoint() -> String? {
        let started = DispatchTime.now().uptimeNanoseconds
        if let failure = syncAll(fds: Array(dirtyFDs), dirs: Array(dirtyDirectories)) { return failure }
        guard let journal = journalFD else { return nil }
        guard ftruncate(journal, 0) == 0, calls.dataSync(journal) == 0 else {
            return "cannot empty the journal: \(errnoString())"
        }
        dirtyFDs = []; dirtyDirectories = []; journalBytes = 0; checkpointDue = nil
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        statsBox.withLock { $0.checkpoints += 1; $0.syncNanos += elapsed }
        return nil
    }

    /// Writes every record, then syncs every file touched; returns a failure description or nil.
    private func writeAndSync(_ batch: [Entry]) -> String? {
        for e in batch {
            do { try Durable.writeAll(fd: e.fd, bytes: e.bytes, path: "ticket log") } catch { return "\(error)" }
        }
        var fds: [Int32] = []
        var seen = Set<Int32>()
        for e in batch where seen.insert(e.fd).inserted { fds.append(e.fd) }
        var dirs: [String] = []
        for e in batch { if let d = e.newFileDirectory, !dirs.contains(d) { dirs.append(d) } }
        return syncAll(fds: fds, dirs: dirs)
    }

    /// fdatasyncs files and fsyncs folders, several at once; returns the first failure.
    private func syncAll(fds: [Int32], dirs: [String]) -> String? {
        if fds.count == 1 && dirs.isEmpty {
            return calls.dataSync(fds[0]) == 0 ? nil : "fdatasync failed: \(errnoString())"
        }
        // Many files: sync them from several threads at once. The file system folds concurrent
        // syncs into shared journal commits, so a batch costs about one commit, not one per file.
        let failures = Mutex<[String]>([])
        let files = fds, folders = dirs
        var tasks: [@Sendable () -> Void] = []
        for fd in files {
            tasks.append { [calls] in
                if calls.dataSync(fd) != 0 { let m = errnoString(); failures.withLock { $0.append("fdatasync failed: \(m)") } }
            }
        }
        for d in folders {
            tasks.append { [calls] in
                let dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard dfd >= 0 else { let m = errnoString(); failures.withLock { $0.append("cannot open \(d): \(m)") }; return }
                if calls.directorySync(dfd) != 0 { let m = errnoString(); failures.withLock { $0.append("fsync of \(d) failed: \(m)") } }
                close(dfd)
            }
        }
        lanes.runAll(tasks)
        return failures.withLock { $0.first }
    }
}

/// Completes when a submitted record is on disk (or the write failed); any number may wait.
public final class CommitHandle: Sendable {
    private struct State {
        var result: Result<Void, ParleyError>?
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }
    private let state = Mutex(State())

    func complete(_ result: Result<Void, ParleyError>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(with: result.mapError { $0 as any Error }) }
    }

    public func wait() async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            let done = state.withLock { s -> Result<Void, ParleyError>? in
                if let r = s.result { return r }
                s.waiters.append(cont)
                return nil
            }
            if let done { cont.resume(with: done.mapError { $0 as any Error }) }
        }
    }
}

/// A fixed set of threads that run blocking sync calls side by side. (Dispatch's pool on Linux
/// keeps about one thread per core busy, which would serialise the syncs we want overlapped.)
final class SyncLanes: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var unfinished = 0

    private var stopping = false

    init(count: Int) {
        for i in 0..<count {
            // Each thread holds the lanes until `stop()` lets it finish.
            let t = Thread { self.work() }
            t.name = "parley-sync-\(i)"
            t.start()
        }
    }

    /// Runs every task on the lanes and returns when all are done.
    func runAll(_ tasks: [@Sendable () -> Void]) {
        condition.lock()
        queue.append(contentsOf: tasks)
        unfinished += tasks.count
        condition.broadcast()
        while unfinished > 0 { condition.wait() }
        condition.unlock()
    }

    /// Lets the threads finish once the queue is empty.
    func stop() {
        condition.lock(); stopping = true; condition.broadcast(); condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty { condition.unlock(); return }
            let task = queue.removeFirst()
            condition.unlock()
            task()
            condition.lock()
            unfinished -= 1
            if unfinished == 0 { condition.broadcast() }
            condition.unlock()
        }
    }
}
