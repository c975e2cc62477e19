#if canImport(Glibc)
import Glibc
#endif
public import Subprocess
import SystemPackage
import Synchronization

/// A program started in the background that the caller signals and waits for: a node of the
/// `monsync demo`, or a process of a test or a benchmark.
///
/// It spawns through swift-subprocess, not Foundation's `Process`: Foundation 6.3's `Process.run()`
/// reads each `/proc/self/fd` entry's whole 256-byte name and so reads past the end of glibc's
/// directory buffer; with many descriptors open it crashed a test run with SIGSEGV
/// (swift-corelibs-foundation #5472). swift-subprocess also closes every other descriptor in the
/// child (`close_range`), and resets the child's signal mask and dispositions, so a child started
/// from a thread that blocks SIGTERM still stops on SIGTERM.
///
/// The child's output goes to files or to `/dev/null`, never to a pipe nobody reads.
public final class ChildProcess: Sendable {
    /// How a process ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// It called `exit` with this status.
        case exited(Int32)
        /// This signal ended it.
        case signaled(Int32)

        /// `exit <status>` or `signal <number>`.
        public var description: String {
            switch self {
            case .exited(let status): "exit \(status)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    /// Where a standard stream of the child goes, or comes from.
    public enum Stream: Sendable, Hashable {
        /// `/dev/null`.
        case null
        /// The file at this path: read from for standard input; created if missing and appended
        /// to for output (two streams may name the same file).
        case file(String)
    }

    /// The child's process ID.
    public let processIdentifier: pid_t
    private let outcome: Outcome

    /// The end of the child, set once swift-subprocess has reaped it.
    private final class Outcome: Sendable {
        let termination = Mutex<Termination?>(nil)
    }

    private init(processIdentifier: pid_t, outcome: Outcome) {
        self.processIdentifier = processIdentifier
        self.outcome = outcome
    }

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - executable: The program's path.
    ///   - arguments: Its arguments (without the program's name).
    ///   - environment: Variables set on top of this process's environment.
    ///   - standardInput: Where its standard input comes from.
    ///   - standardOutput: Where its standard output goes.
    ///   - standardError: Where its standard error goes.
    /// - Returns: The running child.
    /// - Throws: `Errno` when a file cannot be opened; swift-subprocess's `SubprocessError` when the
    ///   program cannot be started.
    public static func start(_ executable: String, arguments: [String], environment: [String: String] = [:],
                             standardInput: Stream = .null, standardOutput: Stream = .null,
                             standardError: Stream = .null) async throws -> ChildProcess {
        let input = try open(standardInput, output: false)
        let output: FileDescriptor, error: FileDescriptor
        do { output = try open(standardOutput, output: true) } catch { try? input.close(); throw error }
        do { error = try open(standardError, output: true) } catch { try? input.close(); try? output.close(); throw error }

        var updates: [Environment.Key: String?] = [:]
        for (name, value) in environment {
            if let key = Environment.Key(rawValue: name) { updates[key] = value }
        }
        let outcome = Outcome()
        let (started, starting) = AsyncThrowingStream<pid_t, any Error>.makeStream()
        // The task lives as long as the child: swift-subprocess returns from `run` once it has
        // reaped it. Nothing cancels it (a cancelled `run` would kill the child).
        Task {
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments),
                    environment: updates.isEmpty ? .inherit : .inherit.updating(updates),
                    input: .fileDescriptor(input, closeAfterSpawningProcess: true),
                    output: .fileDescriptor(output, closeAfterSpawningProcess: true),
                    error: .fileDescriptor(error, closeAfterSpawningProcess: true)
                ) { execution in
                    starting.yield(execution.processIdentifier.value)
                    starting.finish()
                }
                let termination: Termination = switch result.terminationStatus {
                case .exited(let status): .exited(Int32(truncatingIfNeeded: status))
                case .signaled(let signal): .signaled(Int32(truncatingIfNeeded: signal))
                }
                outcome.termination.withLock { $0 = termination }
            } catch {
                starting.finish(throwing: error)
            }
        }
        for try await pid in started { return ChildProcess(processIdentifier: pid, outcome: outcome) }
        throw Errno.noSuchProcess // the stream ended without a process and without an error
    }

    private static func open(_ stream: Stream, output: Bool) throws -> FileDescriptor {
        let path: String = switch stream {
        case .null: "/dev/null"
        case .file(let path): path
        }
        if output {
            return try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .append, .closeOnExec],
                                           permissions: [.ownerReadWrite, .groupRead, .otherRead])
        }
        return try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
    }

    /// How the child ended, or `nil` while it runs.
    public var termination: Termination? { outcome.termination.withLock { $0 } }

    /// Whether the child still runs (has not been reaped).
    public var isRunning: Bool { termination == nil }

    /// Sends `signal` to the child if it still runs.
    public func signal(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// Waits for the child to end.
    ///
    /// - Parameter timeout: How long to wait; after it the child is sent SIGKILL and
    ///   ``TimedOut`` is thrown.
    /// - Returns: How the child ended.
    /// - Throws: ``TimedOut`` after `timeout`; `CancellationError` when the calling task is cancelled.
    public func wait(timeout: Duration) async throws -> Termination {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if let termination { return termination }
            if clock.now >= deadline {
                signal(SIGKILL)
                throw TimedOut(processIdentifier: processIdentifier, timeout: timeout)
            }
            try await clock.sleep(for: .milliseconds(10))
        }
    }

    /// A child did not end within the time it was given (it was sent SIGKILL).
    public struct TimedOut: Error, CustomStringConvertible {
        /// The child's process ID.
        public let processIdentifier: pid_t
        /// The time it was given.
        public let timeout: Duration

        /// A sentence naming the process and the time.
        public var description: String { "process \(processIdentifier) did not end within \(timeout)" }
    }
}
