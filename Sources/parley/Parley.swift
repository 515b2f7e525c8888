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
    @Option(name: .long, help: ArgumentHelp("Data folder (env PARLEY_DATA; default ./data).", valueName: "dir"))
    var data: String?

    /// The folder: the flag, else PARLEY_DATA, else `fallback` (serve's config file), else ./data.
    func path(fallback: String? = nil) -> String {
        data ?? ProcessInfo.processInfo.environment["PARLEY_DATA"] ?? fallback ?? "./data"
    }
}

/// Prints one line to stderr and exits non-zero: how the CLI reports errors.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("parley: \(message)\n".utf8))
    return ExitCode.failure
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the widget, the inbox and the API (the default).",
        discussion: """
        Every option can also come from the environment (PARLEY_HOST, PARLEY_PORT…, named below) and from a \
        config file (--config, env PARLEY_CONFIG): lines `key = value` with the option's name as key \
        (`port = 8080`, `public-url = https://chat.example.com`), `#` starts a comment. A flag wins over \
        the environment, which wins over the file, which wins over the default.
        """)

    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Config file of `key = value` lines (env PARLEY_CONFIG).", valueName: "file"))
    var config: String?
    @Option(help: "Address to listen on (env PARLEY_HOST; default 127.0.0.1; 0.0.0.0 for every interface).")
    var host: String?
    @Option(help: "Port to listen on (env PARLEY_PORT; default 8080).")
    var port: Int?
    @Option(help: ArgumentHelp("Folder of the web pages (env PARLEY_PUBLIC; default ./Public if there is one, else Public next to the executable).", valueName: "dir"))
    var `public`: String?
    @Option(help: ArgumentHelp("The address shops and agents use, e.g. https://chat.example.com, for links and the embed code behind a proxy (env PARLEY_PUBLIC_URL; default: the host each request names).", valueName: "url"))
    var publicURL: String?
    @Option(help: ArgumentHelp("Comma-separated proxy addresses whose X-Forwarded-For/-Proto are believed (env PARLEY_TRUSTED_PROXIES; default 127.0.0.1,::1).", valueName: "ips"))
    var trustedProxies: String?
    @Option(help: "Seconds before an idle or stalled connection is closed (env PARLEY_IDLE_TIMEOUT; default 30).")
    var idleTimeout: Double?
    @Option(help: "Seconds between heartbeats on live streams (env PARLEY_HEARTBEAT; default 15).")
    var heartbeat: Double?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (env PARLEY_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(help: "Log lines as text or json, one per line on standard error (env PARLEY_LOG_FORMAT; default text).")
    var logFormat: String?
    @Option(help: ArgumentHelp("TLS certificate chain, PEM (env PARLEY_TLS_CERT): serve HTTPS (and HTTP/2) without a proxy; needs --tls-key.", valueName: "file"))
    var tlsCert: String?
    @Option(help: ArgumentHelp("TLS private key, PEM (env PARLEY_TLS_KEY).", valueName: "file"))
    var tlsKey: String?
    @Option(help: "Seconds a stop (SIGTERM, SIGINT) may take to finish requests and writes before the rest is cut (env PARLEY_SHUTDOWN_TIMEOUT; default 10).")
    var shutdownTimeout: Double?
    @Flag(help: "For tests: POST /api/test/clock sets the time opening hours are judged by. Never in production.")
    var testClock = false

    static func isIPAddress(_ s: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
    }

    /// `./Public` when there is one (a checkout), else the `Public` folder next to the executable
    /// (the release folder, `dist/`, copied anywhere).
    static func defaultPublic() -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: "./Public", isDirectory: &isDir), isDir.boolValue { return "./Public" }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("Public")
        }
        return "./Public"
    }

    /// `key = value` lines; an unknown key or a line without `=` is an error naming the line.
    static func readConfig(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw fail("cannot read the config file \(path)") }
        let known: Set<String> = ["data", "host", "port", "public", "public-url", "trusted-proxies", "idle-timeout", "heartbeat",
                                  "log-level", "log-format", "tls-cert", "tls-key", "shutdown-timeout"]
        var out: [String: String] = [:]
        // Any line ending (a file edited on Windows has \r\n, which Swift reads as one Character).
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if line.isEmpty { continue }
            guard let eq = line.firstIndex(of: "=") else { throw fail("\(path):\(i + 1): expected `key = value`") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard known.contains(key) else { throw fail("\(path):\(i + 1): unknown setting \(key) (known: \(known.sorted().joined(separator: ", ")))") }
            out[key] = value
        }
        return out
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let file = try (config ?? env["PARLEY_CONFIG"]).map(Self.readConfig) ?? [:]
        /// flag, else environment, else file, else default.
        func pick(_ flag: String?, _ envName: String, _ key: String, _ def: String) -> String {
            flag ?? env[envName] ?? file[key] ?? def
        }
        func number<T: LosslessStringConvertible>(_ flag: T?, _ envName: String, _ key: String, _ def: T) throws -> T {
            if let flag { return flag }
            let raw = env[envName] ?? file[key]
            guard let raw else { return def }
            guard let v = T(raw) else { throw fail("\(key) must be a number, not \(raw) (from \(env[envName] != nil ? envName : "the config file"))") }
            return v
        }
        let level = pick(logLevel, "PARLEY_LOG_LEVEL", "log-level", "info")
        let format = pick(logFormat, "PARLEY_LOG_FORMAT", "log-format", "text")
        guard let level = Logger.Level(rawValue: level) else { throw fail("unknown log level \(level)") }
        guard format == "text" || format == "json" else { throw fail("the log format must be text or json, not \(format)") }
        var settings = ServerSettings()
        settings.dataDirectory = dataOptions.path(fallback: file["data"])
        settings.host = pick(host, "PARLEY_HOST", "host", "127.0.0.1")
        settings.port = try number(port, "PARLEY_PORT", "port", 8080)
        settings.publicDirectory = pick(`public`, "PARLEY_PUBLIC", "public", Self.defaultPublic())
        settings.idleTimeoutSeconds = try number(idleTimeout, "PARLEY_IDLE_TIMEOUT", "idle-timeout", 30.0)
        settings.heartbeatSeconds = try number(heartbeat, "PARLEY_HEARTBEAT", "heartbeat", 15.0)
        if let url = publicURL ?? env["PARLEY_PUBLIC_URL"] ?? file["public-url"] {
            guard let u = URL(string: url), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil,
                  u.query == nil, u.path.isEmpty || u.path == "/" else {
                throw fail("the public URL must look like https://chat.example.com (no path), not \(url)")
            }
            settings.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        let proxies = pick(trustedProxies, "PARLEY_TRUSTED_PROXIES", "trusted-proxies", "127.0.0.1,::1")
        settings.trustedProxies = Set(proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        settings.shutdownTimeoutSeconds = try number(shutdownTimeout, "PARLEY_SHUTDOWN_TIMEOUT", "shutdown-timeout", 10.0)
        let cert = tlsCert ?? env["PARLEY_TLS_CERT"] ?? file["tls-cert"], key = tlsKey ?? env["PARLEY_TLS_KEY"] ?? file["tls-key"]
        switch (cert, key) {
        case (nil, nil): break
        case (let c?, let k?):
            do { settings.tlsConfiguration = try loadTLS(certificate: c, key: k) } catch { throw fail("\(error)") }
        default: throw fail("TLS needs both --tls-cert and --tls-key")
        }
        guard (0...65535).contains(settings.port) else { throw fail("port must be 0–65535") }
        for (name, v) in [("idle-timeout", settings.idleTimeoutSeconds), ("heartbeat", settings.heartbeatSeconds),
                          ("shutdown-timeout", settings.shutdownTimeoutSeconds)] where !(v.isFinite && v > 0 && v <= 86_400) {
            throw fail("\(name) must be a number of seconds above 0 (at most a day), not \(v)")
        }
        for p in settings.trustedProxies where !Self.isIPAddress(p) {
            throw fail("trusted proxies are IP addresses (127.0.0.1, ::1, 10.0.0.2), not \(p)")
        }
        let json = format == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var h = JSONLogHandler(label: label)
                h.logLevel = level
                return h
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "parley")
        settings.rateLimits = env["PARLEY_RATE_LIMITS"] != "off"
        settings.benchEndpoints = env["PARLEY_BENCH"] == "1"
        settings.testClock = testClock
        raiseOpenFileLimit()
        let services: ParleyServices
        do { services = try ParleyServices(settings: settings, logger: logger) } catch {
            throw fail("cannot open the data folder \(settings.dataDirectory): \(error)")
        }
        do {
            try await runServer(services: services, logger: logger)
        } catch {
            services.shutdown()
            throw fail("\(error)")
        }
        services.shutdown()
        logger.notice("stopped", metadata: ["reason": "signal"])
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
            let layout = DataLayout(root: dataOptions.path())
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
        do { return try ConfigStore(layout: DataLayout(root: data.path())) } catch { throw fail("\(error)") }
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
