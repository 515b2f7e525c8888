import ArgumentParser
import Foundation
import Logging
import ParleyCore
import ParleyServer

/// `parley`: serve the chat, check the data folder, manage agents.
@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Self-hosted live chat for small shops.",
        subcommands: [Serve.self, Check.self, BackupCommand.self, RestoreCommand.self, ExportCommand.self, EraseCommand.self,
                      PurgeCommand.self, AgentCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// Options every subcommand shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Data folder (env PARLEY_DATA).", valueName: "dir"))
    var data: String = ProcessInfo.processInfo.environment["PARLEY_DATA"] ?? "./data"
}

/// Prints one line to stderr and exits non-zero: how the CLI reports errors.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("parley: \(message)\n".utf8))
    return ExitCode.failure
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the widget, the inbox and the API (the default).")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Address to listen on (env PARLEY_HOST).")
    var host: String = ProcessInfo.processInfo.environment["PARLEY_HOST"] ?? "127.0.0.1"
    @Option(help: "Port to listen on (env PARLEY_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["PARLEY_PORT"] ?? "") ?? 8080
    @Option(help: ArgumentHelp("Folder of the web pages (env PARLEY_PUBLIC).", valueName: "dir"))
    var `public`: String = ProcessInfo.processInfo.environment["PARLEY_PUBLIC"] ?? "./Public"
    @Option(help: "Seconds before an idle or stalled connection is closed.")
    var idleTimeout: Double = 30
    @Option(help: "Seconds between heartbeats on live streams.")
    var heartbeat: Double = 15
    @Flag(help: "For tests: POST /api/test/clock sets the time opening hours are judged by. Never in production.")
    var testClock = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error (env PARLEY_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["PARLEY_LOG_LEVEL"] ?? "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw fail("unknown log level \(logLevel)") }
        guard (0...65535).contains(port) else { throw fail("port must be 0–65535") }
        guard idleTimeout > 0, heartbeat > 0 else { throw fail("--idle-timeout and --heartbeat must be positive") }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "parley")
        var settings = ServerSettings()
        settings.dataDirectory = dataOptions.data
        settings.host = host
        settings.port = port
        settings.publicDirectory = `public`
        settings.idleTimeoutSeconds = idleTimeout
        settings.heartbeatSeconds = heartbeat
        let env = ProcessInfo.processInfo.environment
        settings.rateLimits = env["PARLEY_RATE_LIMITS"] != "off"
        settings.benchEndpoints = env["PARLEY_BENCH"] == "1"
        settings.testClock = testClock
        raiseOpenFileLimit()
        let services: ParleyServices
        do { services = try ParleyServices(settings: settings, logger: logger) } catch {
            throw fail("cannot open the data folder \(settings.dataDirectory): \(error)")
        }
        let app = buildApplication(services: services)
        do {
            try await app.runService()
        } catch {
            services.shutdown()
            throw fail("\(error)")
        }
        services.shutdown()
    }

    /// Each open ticket keeps its log open: allow as many files as the system lets us.
    private func raiseOpenFileLimit() {
        var lim = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim) == 0, lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim)
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify every ticket log and config file; exit non-zero on damage.")

    @OptionGroup var dataOptions: DataOptions
    @Flag(help: "Cut torn tails (what a crash leaves) into quarantine/.")
    var repair = false

    func run() throws {
        let report: CheckReport
        do {
            let layout = DataLayout(root: dataOptions.data)
            // A running server holds the lock: checking a live folder would misreport (and
            // repairing it would race the server's own writes).
            let lock = try layout.lock()
            defer { close(lock) }
            report = try DataChecker.run(layout: layout, repair: repair)
        } catch {
            throw fail("\(error)")
        }
        for line in report.repaired { print("repaired: \(line)") }
        for line in report.problems { print("problem: \(line)") }
        print("\(report.logs) ticket logs, \(report.events) events: " + (report.isHealthy ? "ok" : "\(report.problems.count) problem(s)"))
        if !report.isHealthy { throw ExitCode.failure }
    }
}

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Manage agents.",
        subcommands: [Add.self, List.self, Disable.self, Passwd.self])

    static func readPassword() throws -> String {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw fail("no password on standard input")
        }
        return line
    }

    static func config(_ data: DataOptions) throws -> ConfigStore {
        do { return try ConfigStore(layout: DataLayout(root: data.data)) } catch { throw fail("\(error)") }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an agent; the password is read from standard input.")
        @OptionGroup var dataOptions: DataOptions
        @Argument(help: "The agent's email (their login).") var email: String
        @Option(help: "Display name shown to visitors.") var name: String
        @Option(help: "agent or admin.") var role: String = "agent"
        @Option(name: .customLong("widget"), help: "A widget the agent may see (repeat; * for all).") var widgets: [String] = []
        @Flag(help: "Read the password from standard input (required).") var passwordStdin = false

        func run() throws {
            guard passwordStdin else { throw fail("pass --password-stdin and the password on standard input") }
            guard let r = Agent.Role(rawValue: role) else { throw fail("--role must be agent or admin") }
            let password = try AgentCommand.readPassword()
            let config = try AgentCommand.config(dataOptions)
            do {
                let a = try config.addAgent(email: email, name: name, role: r, password: password,
                                            widgets: widgets.isEmpty && r == .admin ? ["*"] : widgets)
                try? AuditLog(layout: config.layout).record(.cli, "agent.add", target: a.email, detail: ["role": a.role.rawValue])
                print("added \(a.role.rawValue) \(a.email) (\(a.id))")
            } catch { throw fail("\(error)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List agents.")
        @OptionGroup var dataOptions: DataOptions
        func run() throws {
            let config = try AgentCommand.config(dataOptions)
            for a in config.agents {
                print([a.email, a.name, a.role.rawValue, a.disabled ? "disabled" : "active", a.widgets.joined(separator: ",")].joined(separator: "\t"))
            }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an agent (ends its sessions).")
        @OptionGroup var dataOptions: DataOptions
        @Argument var email: String
        func run() throws {
            let config = try AgentCommand.config(dataOptions)
            do {
                try config.disableAgent(email: email)
                try? AuditLog(layout: config.layout).record(.cli, "agent.disable", target: email.lowercased())
                print("disabled \(email.lowercased())")
            } catch { throw fail("\(error)") }
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an agent's password from standard input (ends its sessions).")
        @OptionGroup var dataOptions: DataOptions
        @Argument var email: String
        @Flag(help: "Read the password from standard input.") var passwordStdin = false
        func run() throws {
            let password = try AgentCommand.readPassword()
            let config = try AgentCommand.config(dataOptions)
            do {
                try config.setPassword(email: email, password: password)
                try? AuditLog(layout: config.layout).record(.cli, "agent.passwd", target: email.lowercased())
                print("password changed for \(email.lowercased())")
            } catch { throw fail("\(error)") }
        }
    }
}
