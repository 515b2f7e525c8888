import Dispatch
import Foundation
import Synchronization
import Testing
@testable import ParleyCore

/// Fake sync calls whose first fdatasync blocks until released, so a test can queue records
/// behind a sync in progress without timing.
final class GatedSyncs: @unchecked Sendable {
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let dataSyncs = Counter()
    let directorySyncs = Counter()
    private let isFirst = Mutex(true)

    var calls: SyncCalls {
        SyncCalls(
            dataSync: { [self] fd in
                dataSyncs.increment()
                let first = isFirst.withLock { f in defer { f = false }; return f }
                if first { entered.signal(); release.wait() }
                return fdatasync(fd)
            },
            directorySync: { [self] fd in directorySyncs.increment(); return fsync(fd) })
    }

    /// Waits on a background thread (never blocking the cooperative pool) until the first sync started.
    func waitUntilEntered() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { self.entered.wait(); c.resume() }
        }
    }
}

/// Files opened for appending in a temp folder, closed by `close()`.
struct OpenFiles {
    let paths: [String]
    let fds: [Int32]
    init(in dir: String, count: Int) throws {
        var p: [String] = [], f: [Int32] = []
        for i in 0..<count {
            let path = "\(dir)/log\(i).jsonl"
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            try #require(fd >= 0)
            p.append(path); f.append(fd)
        }
        paths = p; fds = f
    }
    func close() { for fd in fds { _ = Glibc.close(fd) } }
}

@Suite("Group commit")
struct GroupCommitterTests {
    @Test func recordsQueuedDuringASyncShareTheNextSync() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let gate = GatedSyncs()
        let committer = GroupCommitter(calls: gate.calls)
        defer { committer.shutdown() }
        let files = try OpenFiles(in: tmp.path, count: 13); defer { files.close() }

        let first = committer.submit(fd: files.fds[0], bytes: bytes("first\n"))
        await gate.waitUntilEntered()
        let queued = (1...12).map { committer.submit(fd: files.fds[$0], bytes: bytes("record \($0)\n")) }
        gate.release.signal()
        try await first.wait()
        for h in queued { try await h.wait() }

        let stats = committer.stats
        #expect(stats.batches == 2)
        #expect(stats.records == 13)
        #expect(stats.largestBatch == 12)
        // One sync per file: the first batch's, then each of the 12 files of the second.
        #expect(gate.dataSyncs.value == 13)
        #expect(readBytes(files.paths[0]) == bytes("first\n"))
        for i in 1...12 { #expect(readBytes(files.paths[i]) == bytes("record \(i)\n")) }
        #expect(committer.poisonReason == nil)
    }

    @Test(arguments: [1, 2, GroupCommitter.syncLanes + 3])
    func aBatchSyncsEachFileItTouchedOnce(files count: Int) async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let gate = GatedSyncs()
        let committer = GroupCommitter(calls: gate.calls)
        defer { committer.shutdown() }
        let files = try OpenFiles(in: tmp.path, count: count + 1); defer { files.close() }

        let first = committer.submit(fd: files.fds[0], bytes: bytes("x\n"))
        await gate.waitUntilEntered()
        // Two records per file: still one sync per file.
        var queued: [CommitHandle] = []
        for i in 1...count {
            queued.append(committer.submit(fd: files.fds[i], bytes: bytes("a\(i)\n")))
            queued.append(committer.submit(fd: files.fds[i], bytes: bytes("b\(i)\n")))
        }
        gate.release.signal()
        try await first.wait()
        for h in queued { try await h.wait() }

        #expect(committer.stats.batches == 2)
        #expect(committer.stats.largestBatch == 2 * count)
        #expect(gate.dataSyncs.value == 1 + count)
        for i in 1...count { #expect(readBytes(files.paths[i]) == bytes("a\(i)\nb\(i)\n")) }
    }

    @Test func recordsOfOneFileReachItInSubmissionOrder() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let committer = GroupCommitter()
        defer { committer.shutdown() }
        let files = try OpenFiles(in: tmp.path, count: 1); defer { files.close() }
        let handles = (0..<300).map { committer.submit(fd: files.fds[0], bytes: bytes("\($0)\n")) }
        for h in handles { try await h.wait() }
        let expected = (0..<300).map { "\($0)\n" }.joined()
        #expect(readBytes(files.paths[0]) == bytes(expected))
        #expect(committer.stats.records == 300)
    }

    @Test func newFileDirectoryIsSynced() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let gate = GatedSyncs()
        let committer = GroupCommitter(calls: gate.calls)
        defer { committer.shutdown() }
        let files = try OpenFiles(in: tmp.path, count: 1); defer { files.close() }
        gate.release.signal()  // let the first sync through at once
        try await committer.commit(fd: files.fds[0], bytes: bytes("x\n"), newFileDirectory: tmp.path)
        #expect(gate.directorySyncs.value == 1)
        try await committer.commit(fd: files.fds[0], bytes: bytes("y\n"))
        #expect(gate.directorySyncs.value == 1)
        #expect(gate.dataSyncs.value == 2)
    }

    @Test func failedSyncFailsTheBatchAndEveryLaterWrite() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let failing = Switch()
        failing.set(true)
        let calls = SyncCalls(dataSync: { fd in failing.isOn ? -1 : fdatasync(fd) }, directorySync: { fsync($0) })
        let committer = GroupCommitter(calls: calls)
        defer { committer.shutdown() }
        let files = try OpenFiles(in: tmp.path, count: 1); defer { files.close() }

        let e1 = await #expect(throws: ParleyError.self) {
            try await committer.commit(fd: files.fds[0], bytes: bytes("a\n"))
        }
        #expect(isStoreUnavailable(e1))
        #expect(committer.poisonReason?.contains("fdatasync") == true)
        failing.set(false)
        let e2 = await #expect(throws: ParleyError.self) {
            try await committer.commit(fd: files.fds[0], bytes: bytes("b\n"))
        }
        #expect(isStoreUnavailable(e2))
        // Refused writes are not even attempted.
        #expect(readBytes(files.paths[0]) == bytes("a\n"))
    }

    /// Several files synced side by side: one failing sync fails every record of the batch.
    @Test func failedSyncOfOneFileInABatchFailsTheWholeBatch() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let gate = GatedSyncs()
        let files = try OpenFiles(in: tmp.path, count: 5); defer { files.close() }
        let badFD = files.fds[3]
        let calls = SyncCalls(dataSync: { fd in fd == badFD ? -1 : gate.calls.dataSync(fd) }, directorySync: { fsync($0) })
        let committer = GroupCommitter(calls: calls)
        defer { committer.shutdown() }

        let first = committer.submit(fd: files.fds[0], bytes: bytes("first\n"))
        await gate.waitUntilEntered()
        let queued = (1...4).map { committer.submit(fd: files.fds[$0], bytes: bytes("r\($0)\n")) }
        gate.release.signal()
        try await first.wait()
        for h in queued {
            let e = await #expect(throws: ParleyError.self) { try await h.wait() }
            #expect(isStoreUnavailable(e))
        }
        #expect(committer.poisonReason?.contains("fdatasync") == true)
        #expect(committer.stats.batches == 2)
    }

    @Test func failedWriteFailsTheBatch() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let committer = GroupCommitter()
        defer { committer.shutdown() }
        let readOnly = open(tmp.path, O_RDONLY | O_DIRECTORY)  // write(2) on a directory fails
        defer { close(readOnly) }
        let e = await #expect(throws: ParleyError.self) {
            try await committer.commit(fd: readOnly, bytes: bytes("a\n"))
        }
        #expect(isStoreUnavailable(e))
        #expect(committer.poisonReason != nil)
    }

    @Test func queuedWorkFinishesOnShutdownAndLaterWritesAreRefused() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let gate = GatedSyncs()
        let committer = GroupCommitter(calls: gate.calls)
        let files = try OpenFiles(in: tmp.path, count: 2); defer { files.close() }
        let first = committer.submit(fd: files.fds[0], bytes: bytes("first\n"))
        await gate.waitUntilEntered()
        let queued = committer.submit(fd: files.fds[1], bytes: bytes("queued\n"))
        committer.shutdown()
        gate.release.signal()
        try await first.wait()
        try await queued.wait()
        #expect(readBytes(files.paths[1]) == bytes("queued\n"))
        let e = await #expect(throws: ParleyError.self) {
            try await committer.commit(fd: files.fds[1], bytes: bytes("late\n"))
        }
        #expect(isStoreUnavailable(e))
        #expect(readBytes(files.paths[1]) == bytes("queued\n"))
    }

    @Test func manyWaitersOnOneHandleAllResume() async throws {
        let tmp = try TempFolder(); defer { tmp.remove() }
        let committer = GroupCommitter()
        defer { committer.shutdown() }
        let files = try OpenFiles(in: tmp.path, count: 1); defer { files.close() }
        let handle = committer.submit(fd: files.fds[0], bytes: bytes("x\n"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { try await handle.wait() } }
            try await group.waitForAll()
        }
        try await handle.wait()  // after completion too
        #expect(readBytes(files.paths[0]) == bytes("x\n"))
    }
}

@Suite("Group commit: lifetime")
struct GroupCommitterLifetimeTests {
    /// A committer made and shut down at once (a CLI command, a failed start-up) must not crash
    /// the process when its thread starts after the last reference is gone. Runs in a child
    /// process, since the failure is a trap.
    @Test func committerDroppedRightAfterCreationDoesNotCrash() async {
        await #expect(processExitsWith: .success) {
            let dir = FileManager.default.temporaryDirectory
                .appendingPathComponent("parley-core-tests-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for _ in 0..<100 {
                let c = GroupCommitter()
                c.shutdown()
            }
            // One full round trip through a last committer's thread, so earlier threads have run.
            let last = GroupCommitter()
            let fd = open(dir + "/probe", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            defer { close(fd) }
            try await last.commit(fd: fd, bytes: Array("x\n".utf8))
            last.shutdown()
        }
    }
}
