import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// The built `monsync` binary, or the one `MONSYNC_TEST_BINARY` names: the process tests then run
/// against another build (an older commit's, to see a regression test fail there).
var monsyncPath: String {
    if let path = ProcessInfo.processInfo.environment["MONSYNC_TEST_BINARY"], !path.isEmpty { return path }
    return productsDirectory.appendingPathComponent("monsync").path
}

/// A `monsync` process started in the background, its output going to files.
final class RunningProcess: Sendable {
    let process: ChildProcess
    let outURL: URL
    let errURL: URL
    let arguments: [String]

    /// Starts `monsync arguments`, with `environment` added to this process's, reading `standardInput`
    /// (nothing when `nil`). With `plaintext` (the default), a command that talks ZeroMQ and was
    /// given no `--key` gets `--insecure-plaintext`: most process tests are about something other
    /// than keys, and plaintext must be chosen explicitly. Tests of that choice pass `plaintext: false`.
    init(_ arguments: [String], plaintext: Bool = true, environment: [String: String] = [:], standardInput: URL? = nil) async throws {
        let arguments = plaintext ? Self.choosingPlaintext(arguments) : arguments
        let stem = "monsync-cli-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let directory = FileManager.default.temporaryDirectory
        outURL = directory.appendingPathComponent(stem + ".out")
        errURL = directory.appendingPathComponent(stem + ".err")
        self.arguments = arguments
        process = try await ChildProcess.start(monsyncPath, arguments: arguments, environment: environment,
                                               standardInput: standardInput.map { .file($0.path) } ?? .null,
                                               standardOutput: .file(outURL.path), standardError: .file(errURL.path))
    }

    /// Whether the binary under test knows `--insecure-plaintext`: an older build given by
    /// `MONSYNC_TEST_BINARY` (to see a regression test fail there) ran plaintext without it.
    static let binaryChoosesPlaintext: Bool = {
        guard let binary = FileManager.default.contents(atPath: monsyncPath) else { return true }
        return binary.range(of: Data("insecure-plaintext".utf8)) != nil
    }()

    /// The commands that take `--insecure-plaintext` (a command path's first word, or its two).
    static let networkCommands: Set<String> = ["node", "get", "put", "delete", "list", "status", "health", "bench", "snapshot save", "mon"]

    /// `arguments` with `--insecure-plaintext` if their command talks to monitors and they give no keys.
    static func choosingPlaintext(_ arguments: [String]) -> [String] {
        guard binaryChoosesPlaintext, let command = arguments.first,
              networkCommands.contains(command) || networkCommands.contains(arguments.prefix(2).joined(separator: " ")),
              !arguments.contains("--key"), !arguments.contains("--insecure-plaintext") else { return arguments }
        return arguments + ["--insecure-plaintext"]
    }

    deinit {
        process.signal(SIGKILL)
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }

    /// Whether the process still runs.
    var isRunning: Bool { process.isRunning }

    /// Sends `signal` to the process.
    func signal(_ signal: Int32) { process.signal(signal) }

    /// Waits for the process to exit; SIGKILLs it and throws after `timeout`.
    func wait(timeout: Duration) async throws -> ProcessResult {
        let termination: ChildProcess.Termination
        do {
            termination = try await process.wait(timeout: timeout)
        } catch is ChildProcess.TimedOut {
            throw TimedOut(what: "monsync \(arguments.joined(separator: " "))")
        }
        return ProcessResult(termination: termination,
                             stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// What the process wrote to standard error so far.
    var stderrSoFar: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }
}

/// Runs `monsync arguments` to completion (at most `timeout`), with `environment` added to this
/// process's and `standardInput` (nothing when `nil`) as its input; `plaintext` as for ``RunningProcess``.
func monsync(_ arguments: [String], plaintext: Bool = true, timeout: Duration = .seconds(30), environment: [String: String] = [:],
             standardInput: URL? = nil) async throws -> ProcessResult {
    try #require(FileManager.default.isExecutableFile(atPath: monsyncPath), "build the package first (swift build): \(monsyncPath) is missing")
    return try await RunningProcess(arguments, plaintext: plaintext, environment: environment, standardInput: standardInput).wait(timeout: timeout)
}

extension Sequence {
    /// The values of `transform` for the elements, in order, one after the other.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var values: [T] = []
        for element in self { values.append(try await transform(element)) }
        return values
    }
}

/// A fresh, empty temporary directory, removed by `body`'s end.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-cli-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

/// A monmap of `names` on free 127.0.0.1 ports.
func makeMonmap(_ names: [String]) -> String {
    names.map { "\($0)=tcp://127.0.0.1:\(freeTCPPort())" }.joined(separator: ",")
}

/// Timers short enough for a test cluster to form a quorum in about a second, and to stop within 3 s.
let fastTimers = ["--probe-timeout", "0.5", "--election-timeout", "1", "--lease", "2", "--lease-renew-interval", "1",
                  "--lease-ack-timeout", "4", "--accept-timeout", "4", "--shutdown-timeout", "3", "--log-level", "warning"]

/// The monitor rows of `monsync status --json`: the `monitors` of its object, or the whole array a
/// build before the cluster summary printed (so `MONSYNC_TEST_BINARY` may name an older build);
/// `nil` when the output is neither.
func statusMonitors(_ stdout: String) throws -> [[String: Any]]? {
    let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
    if let status = object as? [String: Any] { return status["monitors"] as? [[String: Any]] }
    return object as? [[String: Any]]
}
