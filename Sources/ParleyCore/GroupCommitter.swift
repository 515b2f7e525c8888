import CParleySys
import Foundation
import Synchronization

/// The sync calls the committer makes, as a seam so tests can make a sync fail.
public struct SyncCalls: Sendable {
    public var dataSync: @Sendable (Int32) -> Int32
    public var fileSystemSync: @Sendable (Int32) -> Int32
    public var directorySync: @Sendable (Int32) -> Int32
    public init(dataSync: @escaping @Sendable (Int32) -> Int32,
                fileSystemSync: @escaping @Sendable (Int32) -> Int32,
                directorySync: @escaping @Sendable (Int32) -> Int32) {
        self.dataSync = dataSync; self.fileSystemSync = fileSystemSync; self.directorySync = directorySync
    }
    public static let live = SyncCalls(dataSync: { fdatasync($0) }, fileSystemSync: { parley_syncfs($0) }, directorySync: { fsync($0) })
}

/// Counters the committer keeps (for metrics and the benchmark).
public struct CommitStats: Sendable {
    public var batches = 0
    public var records = 0
    public var largestBatch = 0
    public var syncNanos: UInt64 = 0
}

/// Group commit: writers queue their records; one thread writes the whole batch and syncs once,
/// and everyone in the batch is acknowledged only after that sync.
///
/// A batch touching few files syncs each with fdatasync; a batch touching many uses one syncfs
/// of the data folder's file system, which costs about one journal commit however many logs it
/// covers. A failed write or sync poisons the committer: the bytes may or may not be on disk, so
/// every later write is refused until a restart runs recovery.
public final class GroupCommitter: @unchecked Sendable {
    private struct Entry {
        let fd: Int32
        let bytes: [UInt8]
        let newFileDirectory: String?
        let handle: CommitHandle
    }

    /// Batches touching more files than this use one syncfs instead of one fdatasync per file.
    public static let perFileSyncLimit = 8

    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var poison: String?
    private var stopping = false
    private var thread: Thread?
    private let dataDirFD: Int32
    private let calls: SyncCalls
    private let statsBox = Mutex(CommitStats())

    /// - Parameter dataDirectory: a folder on the file system the logs live on (for syncfs).
    public init(dataDirectory: String, calls: SyncCalls = .live) throws {
        dataDirFD = open(dataDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dataDirFD >= 0 else { throw ParleyError.io("cannot open \(dataDirectory): \(errnoString())") }
        self.calls = calls
        let t = Thread { [unowned self] in self.run() }
        t.name = "parley-commit"
        thread = t
        t.start()
    }

    deinit { close(dataDirFD) }

    public var stats: CommitStats { statsBox.withLock { $0 } }

    /// Why writes are refused, if they are.
    public var poisonReason: String? { condition.lock(); defer { condition.unlock() }; return poison }

    /// Queues `bytes` for `fd` at once (so records of one file reach it in the order queued) and
    /// returns a handle that completes when they are on disk. `newFileDirectory` names the folder
    /// of a file created for this record, which must be synced too.
    public func submit(fd: Int32, bytes: [UInt8], newFileDirectory: String? = nil) -> CommitHandle {
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
        pending.append(Entry(fd: fd, bytes: bytes, newFileDirectory: newFileDirectory, handle: handle))
        condition.signal()
        condition.unlock()
        return handle
    }

    /// Appends and waits until the bytes are on disk.
    public func commit(fd: Int32, bytes: [UInt8], newFileDirectory: String? = nil) async throws {
        try await submit(fd: fd, bytes: bytes, newFileDirectory: newFileDirectory).wait()
    }

    /// Finishes queued work and stops the thread.
    public func shutdown() {
        condition.lock(); stopping = true; condition.signal(); condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping { condition.unlock(); return }
            let batch = pending
            pending = []
            let poisoned = poison
            condition.unlock()

            if let poisoned {
                for e in batch { e.handle.complete(.failure(ParleyError.storeUnavailable(poisoned))) }
                continue
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let failure = writeAndSync(batch)
            let elapsed = DispatchTime.now().uptimeNanoseconds - started
            statsBox.withLock {
                $0.batches += 1; $0.records += batch.count
                $0.largestBatch = max($0.largestBatch, batch.count); $0.syncNanos += elapsed
            }
            if let failure {
                condition.lock(); poison = failure; condition.unlock()
                for e in batch { e.handle.complete(.failure(ParleyError.storeUnavailable(failure))) }
            } else {
                for e in batch { e.handle.complete(.success(())) }
            }
        }
    }

    /// Writes every record, then syncs; returns a failure description or nil.
    private func writeAndSync(_ batch: [Entry]) -> String? {
        for e in batch {
            do { try Durable.writeAll(fd: e.fd, bytes: e.bytes, path: "ticket log") } catch { return "\(error)" }
        }
        var fds: [Int32] = []
        var seen = Set<Int32>()
        for e in batch where seen.insert(e.fd).inserted { fds.append(e.fd) }
        if fds.count > Self.perFileSyncLimit {
            // One journal commit covers data and new directory entries of every file in the batch.
            if calls.fileSystemSync(dataDirFD) != 0 { return "syncfs failed: \(errnoString())" }
            return nil
        }
        for fd in fds where calls.dataSync(fd) != 0 {
            return "fdatasync failed: \(errnoString())"
        }
        var dirs = Set<String>()
        for e in batch { if let d = e.newFileDirectory { dirs.insert(d) } }
        for d in dirs {
            let dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dfd >= 0 else { return "cannot open \(d): \(errnoString())" }
            let rc = calls.directorySync(dfd)
            close(dfd)
            if rc != 0 { return "fsync of \(d) failed: \(errnoString())" }
        }
        return nil
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
