public import Foundation

/// The directory of the build products, where the test runner (`<products>/MonSyncPackageTests.xctest`)
/// sits beside the executables the tests run (`monsync`, `monsync-zmq-peer`).
public var productsDirectory: URL {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // Step out of any bundle directory.
    while directory.pathExtension == "xctest" || directory.lastPathComponent == "Contents" || directory.lastPathComponent == "MacOS" {
        directory = directory.deletingLastPathComponent()
    }
    return directory
}

/// What a finished child process left: how it ended and its output.
public struct ProcessResult: Sendable, CustomStringConvertible {
    /// How it ended.
    public var termination: ChildProcess.Termination
    public var stdout: String
    public var stderr: String

    public init(termination: ChildProcess.Termination, stdout: String, stderr: String) {
        self.termination = termination
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Its exit status; for a process a signal ended, 128 + the signal (as a shell reports it),
    /// which no exit status of `monsync` uses.
    public var status: Int32 {
        switch termination {
        case .exited(let status): status
        case .signaled(let signal): 128 + signal
        }
    }

    /// Whether it exited by itself (a signal did not end it).
    public var exited: Bool {
        if case .exited = termination { return true }
        return false
    }

    /// The non-empty lines of standard error.
    public var errorLines: [Substring] { stderr.split(separator: "\n") }

    public var description: String { "\(termination)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}
