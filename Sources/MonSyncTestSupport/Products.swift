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

/// What a finished child process left: its exit status and its output.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The non-empty lines of standard error.
    public var errorLines: [Substring] { stderr.split(separator: "\n") }

    public var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}
