import ArgumentParser
import Foundation
import ParleyCore

/// `parley backup FILE`: a consistent snapshot while the server runs (see `Backup`).
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent snapshot of the data folder to FILE (.tar.gz or .tar.zst), also while the server runs.")
    @OptionGroup var dataOptions: DataOptions
    @Argument(help: ArgumentHelp("The archive to write (.tar.gz, .tgz or .tar.zst); replaced if it exists.", valueName: "file"))
    var file: String

    func run() throws {
        let report: Backup.Report
        do { report = try Backup.create(layout: DataLayout(root: dataOptions.path()), to: file) } catch { throw fail("\(error)") }
        for m in report.missingAttachments { FileHandle.standardError.write(Data("parley: warning: attachment \(m) is named by a ticket but missing from the data folder\n".utf8)) }
        print("backup \(file): \(report.files) files, \(report.bytes) bytes, \(String(format: "%.2f", report.seconds)) s")
    }
}

/// `parley restore FILE --data DIR` (see `Restore`).
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup (or a plain tar of a data folder) into the data folder; checked before anything is replaced.")
    @OptionGroup var dataOptions: DataOptions
    @Argument(help: ArgumentHelp("The archive (.tar.gz, .tar.zst, or any tar libarchive reads).", valueName: "file"))
    var file: String
    @Flag(help: "Replace a data folder that is not empty (the old one is kept aside, renamed).")
    var force = false

    func run() throws {
        let report: Restore.Report
        do { report = try Restore.run(archive: file, into: dataOptions.path(), force: force) } catch { throw fail("\(error)") }
        var line = "restored \(report.files) files (\(report.bytes) bytes) into \(dataOptions.path())"
        line += report.verified ? ", every file matching the backup's manifest" : " (no manifest: a plain archive; the server's start-up recovery cuts any torn line)"
        if report.skipped > 0 { line += "; left out \(report.skipped) unfinished uploads, quarantined or cached files" }
        if let aside = report.keptAside { line += "; the previous folder is kept at \(aside)" }
        print(line)
    }
}

/// `parley export --email E [--out FILE]` (see `DataTools.export`).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every ticket and attachment of one visitor to a .zip (or .tar.gz); also while the server runs.")
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "The visitor's email.") var email: String
    @Option(help: ArgumentHelp("The file to write (default: parley-export-EMAIL.zip).", valueName: "file")) var out: String?

    func run() throws {
        let safe = email.lowercased().map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        let file = out ?? "parley-export-\(String(safe)).zip"
        do {
            let r = try DataTools.export(layout: DataLayout(root: dataOptions.path()), email: email, to: file)
            print("exported \(r.tickets) tickets and \(r.attachments) attachments to \(r.file)")
        } catch { throw fail("\(error)") }
    }
}

/// Erase and purge change the folder: never beside a running server (its lock says so).
func withFolderLock<T>(_ data: String, _ body: (DataLayout) throws -> T) throws -> T {
    let layout = DataLayout(root: data)
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: layout.root, isDirectory: &isDir), isDir.boolValue else {
        throw fail("no data folder at \(layout.root)")
    }
    let fd: Int32
    do { fd = try layout.lock() } catch { throw fail("\(error) (erase and purge from the admin page work while it runs)") }
    defer { close(fd) }
    do { return try body(layout) } catch { throw fail("\(error)") }
}

/// `parley erase --email E` (see `DataTools.erase`).
struct EraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Right to be forgotten: remove every ticket and attachment of one visitor (stop the server first).")
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "The visitor's email.") var email: String

    func run() throws {
        let r = try withFolderLock(dataOptions.path()) { try DataTools.erase(layout: $0, email: email) }
        print("erased \(r.tickets.count) tickets (\(r.files) files)" + (r.redacted > 0 ? "; the email was removed from \(r.redacted) other logs" : ""))
    }
}

/// `parley purge --closed-before DATE [--dry-run]` (see `DataTools.purge`).
struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Retention: remove tickets closed before a date, with their attachments (stop the server first).")
    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Remove tickets last closed before this day (YYYY-MM-DD, UTC) or time (RFC 3339).", valueName: "date"))
    var closedBefore: String
    @Flag(help: "Only list what would be removed.") var dryRun = false

    func run() throws {
        guard let date = Timestamp.parseLoose(closedBefore) else {
            throw fail("--closed-before takes a date like 2026-01-31 (or 2026-01-31T12:00:00Z)")
        }
        let r = try withFolderLock(dataOptions.path()) { try DataTools.purge(layout: $0, closedBefore: date, dryRun: dryRun) }
        if dryRun {
            for id in r.tickets { print(id) }
            print("would remove \(r.tickets.count) tickets closed before \(Timestamp.format(date))")
        } else {
            print("removed \(r.tickets.count) tickets closed before \(Timestamp.format(date)) (\(r.files) files)")
        }
    }
}
