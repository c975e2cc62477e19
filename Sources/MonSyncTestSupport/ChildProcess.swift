import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program with a time limit; its output goes to temporary files so a chatty child cannot block on a pipe.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                timeout: Duration) async throws -> ProcessResult {
    let directory = FileManager.default.temporaryDirectory
    let stem = "monsync-zmq-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let outURL = directory.appendingPathComponent(stem + ".out"), errURL = directory.appendingPathComponent(stem + ".err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while process.isRunning {
        if clock.now >= deadline {
            kill(process.processIdentifier, SIGKILL) // SIGTERM may be inherited as ignored
            throw TimedOut(what: "\(executable) \(arguments.joined(separator: " "))")
        }
        try await clock.sleep(for: .milliseconds(20))
    }
    try out.close()
    try err.close()
    return ProcessResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// Python with pyzmq, installed with pip if missing (once per test run).
public enum PythonZMQ {
    public static let python = "/usr/bin/env"

    /// Whether `python3 -c "import zmq"` works, after trying `pip install pyzmq` once.
    public static let isAvailable: Bool = {
        func probe() -> Bool { run(["python3", "-c", "import zmq"]) == 0 }
        if probe() { return true }
        _ = run(["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pyzmq"])
        return probe()
    }()

    private static func run(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
