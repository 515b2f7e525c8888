import Foundation

/// What `parley check` found.
public struct CheckReport: Sendable {
    public var logs = 0
    public var events = 0
    /// Problems still present after the run (non-empty → exit non-zero).
    public var problems: [String] = []
    /// What `--repair` fixed.
    public var repaired: [String] = []
    public var isHealthy: Bool { problems.isEmpty }
}

/// Verifies a data folder: every ticket log, the config files and the secret.
public enum DataChecker {
    /// With `repair`, torn tails are cut into `quarantine/`; damage in the middle of a log is only
    /// reported, since no program can know which version of the history is right.
    public static func run(layout: DataLayout, repair: Bool) throws -> CheckReport {
        var report = CheckReport()
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: layout.root, isDirectory: &isDir), isDir.boolValue else {
            throw ParleyError.io("\(layout.root) is not a data folder")
        }
        // Records a crash left in the journal before a checkpoint: the server replays them at
        // start; --repair replays them now.
        let journal = try Journal.recover(layout: layout, apply: repair)
        if journal.replayed > 0 {
            if repair {
                report.repaired.append("journal.jsonl: replayed \(journal.replayed) record(s) into \(journal.tickets.count) ticket log(s)")
            } else {
                report.problems.append("journal.jsonl: \(journal.replayed) record(s) not yet in their ticket logs (the server replays them at start, or run `parley check --repair`)")
            }
        }
        report.problems += journal.problems
        for path in try TicketStore.logPaths(layout: layout) {
            report.logs += 1
            let name = (path as NSString).lastPathComponent
            let id = (name as NSString).deletingPathExtension
            let rel = path.hasPrefix(layout.root + "/") ? String(path.dropFirst(layout.root.count + 1)) : path
            if !TicketID.isValid(id) { report.problems.append("\(rel): file name is not a ticket id"); continue }
            let contents: LogContents
            do { contents = try TicketLog.read(path: path) } catch { report.problems.append("\(rel): \(error)"); continue }
            report.events += contents.events.count
            // Files the events name: a plain tar taken mid-upload can lack one. Reported, and
            // shown as "missing" in the inbox; never a crash.
            for e in contents.events where e.type == EventType.attachment {
                guard let a = e.attachment, AttachmentID.ticket(of: a.id) == id else { continue }
                if !fm.fileExists(atPath: "\(layout.attachments)/\(id)/\(a.id)") {
                    report.problems.append("\(rel): attachment \(a.id) (\(a.name)) is missing from attachments/")
                }
            }
            if contents.events.isEmpty && contents.damage.isEmpty {
                if repair {
                    let q = try TicketLog.quarantineWhole(path: path, quarantineDir: layout.quarantine)
                    report.repaired.append("\(rel): no complete event (a crash while it was created); moved to \(q)")
                } else {
                    report.problems.append("\(rel): no complete event (a crash while it was created; run `parley check --repair`)")
                }
                continue
            }
            if !contents.tornTail.isEmpty {
                if repair {
                    let q = try TicketLog.cutTornTail(path: path, contents: contents, quarantineDir: layout.quarantine)
                    report.repaired.append("\(rel): cut a torn tail of \(contents.tornTail.count) bytes into \(q ?? "quarantine")")
                } else {
                    report.problems.append("\(rel): torn tail of \(contents.tornTail.count) bytes (run `parley check --repair`)")
                }
            }
            for d in contents.damage { report.problems.append("\(rel): \(d)") }
            if let first = contents.events.first, first.type != EventType.opened || first.seq != 1 {
                report.problems.append("\(rel): first event is \(first.type) #\(first.seq), expected ticket.opened #1")
            }
        }
        if fm.fileExists(atPath: layout.agentsFile) {
            if let data = fm.contents(atPath: layout.agentsFile), (try? JSONDecoder().decode([Agent].self, from: data)) != nil {} else {
                report.problems.append("config/agents.json: not a valid agents file")
            }
        }
        for f in (try? fm.contentsOfDirectory(atPath: layout.widgets)) ?? [] where f.hasSuffix(".json") && !f.hasPrefix(".") {
            if let data = fm.contents(atPath: "\(layout.widgets)/\(f)"), let w = try? JSONDecoder().decode(Widget.self, from: data) {
                // Loads, but a hand edit may hold values the admin page would refuse.
                let p = w.problems()
                if !p.isEmpty { report.problems.append("config/widgets/\(f): " + p.keys.sorted().map { "\($0): \(p[$0] ?? "")" }.joined(separator: "; ")) }
                continue
            }
            report.problems.append("config/widgets/\(f): not a valid widget file")
        }
        do { _ = try InboxSettings.load(path: layout.inboxFile) } catch { report.problems.append("config/inbox.json: \(error)") }
        // Teams, rules, drafts: what the server would refuse to start with (once the files
        // checked one by one above are fine, so a problem is not reported twice).
        if !report.problems.contains(where: { $0.hasPrefix("config/") }) {
            do { _ = try ConfigStore(layout: layout) } catch { report.problems.append("config: \(error)") }
        }
        do { _ = try ContactStore(layout: layout) } catch { report.problems.append("contacts.json: \(error)") }
        if fm.fileExists(atPath: layout.secretKey) {
            do { _ = try ServerSecret.loadOrCreate(layout: layout) } catch { report.problems.append("secret.key: \(error)") }
        }
        return report
    }
}
