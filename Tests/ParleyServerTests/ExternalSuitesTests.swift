import Foundation
import Testing

/// The browser code's tests run as part of `swift test`: the widget's unit tests under node,
/// and the pages in headless Chromium through Selenium (pytest starts its own parley).
@Suite(.serialized) struct ExternalSuitesTests {
    func run(_ executable: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable] + args
        p.currentDirectoryURL = URL(fileURLWithPath: RepoPaths.root)
        var env = ProcessInfo.processInfo.environment
        env["PARLEY_BIN"] = RepoPaths.binary
        env["PARLEY_BCRYPT_COST"] = "4"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func widgetUnitTestsPassUnderNode() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: RepoPaths.root + "/Tests/js")
            .filter { $0.hasSuffix(".test.mjs") }.sorted().map { "Tests/js/\($0)" }
        #expect(!files.isEmpty)
        let (code, output) = try run("node", ["--test"] + files)
        print(output)
        #expect(code == 0, "node --test failed:\n\(output)")
        #expect(output.contains("# fail 0"))
    }

    @Test func pagesWorkInARealBrowser() throws {
        let python = ProcessInfo.processInfo.environment["PARLEY_PYTHON"] ?? "python3"
        let (code, output) = try run(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "Tests/browser"])
        print(output)
        #expect(code == 0, "browser tests failed (run `make test` to install Chromium and Selenium):\n\(output)")
        #expect(output.contains(" passed"))
    }
}
