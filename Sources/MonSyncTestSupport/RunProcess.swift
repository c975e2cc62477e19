import Foundation
@_exported public import MonSyncChildProcess

/// Runs a program with a time limit; its output goes to temporary files so a chatty child cannot block on a pipe.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       timeout: Duration) async throws -> ProcessResult {
    let directory = FileManager.default.temporaryDirectory
    let stem = "monsync-zmq-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let outURL = directory.appendingPathComponent(stem + ".out"), errURL = directory.appendingPathComponent(stem + ".err")
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let child = try await ChildProcess.start(executable, arguments: arguments, environment: environment,
                                             standardOutput: .file(outURL.path), standardError: .file(errURL.path))
    let termination: ChildProcess.Termination
    do {
        termination = try await child.wait(timeout: timeout)
    } catch is ChildProcess.TimedOut {
        throw TimedOut(what: "\(executable) \(arguments.joined(separator: " "))")
    }
    return ProcessResult(termination: termination,
                         stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// Python with pyzmq, installed with pip if missing (once per test run).
public enum PythonZMQ {
    public static let python = "/usr/bin/env"

    /// Whether `python3 -c "import zmq"` works, after trying `pip install pyzmq` once.
    public static var isAvailable: Bool {
        get async { await availability.value }
    }

    private static let availability = Task<Bool, Never> {
        func probe() async -> Bool { await run(["python3", "-c", "import zmq"]) == .exited(0) }
        if await probe() { return true }
        _ = await run(["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pyzmq"])
        return await probe()
    }

    private static func run(_ arguments: [String]) async -> ChildProcess.Termination? {
        try? await ChildProcess.start(python, arguments: arguments).wait(timeout: .seconds(300))
    }
}
