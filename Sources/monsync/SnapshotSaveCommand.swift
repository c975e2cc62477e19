import ArgumentParser
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MonSyncCore
import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync

/// `monsync snapshot save FILE`: streams a consistent snapshot of a live cluster into a file.
struct SnapshotSaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Stream a consistent snapshot of a live cluster's store into a file (online backup).",
        discussion: """
        Asks the monitors for their status, then streams the snapshot from a quorum peon (else the \
        leader, else any monitor that serves) with the store sync's own messages, as a backup client: \
        it holds no Paxos trim and never counts in a quorum. The snapshot is the state of one Paxos \
        version. A monitor that stops mid-stream is left for the next one, which starts the file over. \
        The file appears at FILE only once complete and checked (written beside it as FILE.partial-PID, \
        fsynced, renamed). With keys, the key needs role backup (or monitor).

        Progress goes to standard error every --progress-interval seconds; the summary to standard output.
        Exits 0 when saved; 1 when no monitor streamed the whole snapshot or the file cannot be written; \
        3 when no monitor answered; 5 when a monitor refused the key; 64 on a usage error; 130 when interrupted (nothing written).

        Example:
          monsync snapshot save backup.msnap --config monmap.conf --key backup.key --keyring keyring
        """)

    @Argument(help: "The file to write (it must not exist unless --force).") var file: String
    @OptionGroup var options: ClientOptions

    @Flag(help: "Replace FILE if it exists (only once the new snapshot is complete).") var force = false

    @Option(help: ArgumentHelp("Seconds a stream may go without a chunk before the next monitor is tried.", valueName: "s"))
    var chunkTimeout: Double = SyncBackupMachine.Configuration().chunkTimeout.inSeconds

    @Option(help: ArgumentHelp("Chunks a monitor may have in flight (1–64).", valueName: "n"))
    var window: Int = SyncBackupMachine.Configuration().window

    @Option(help: ArgumentHelp("Streams to start, over all monitors, before giving up (default: two per monitor).", valueName: "n"))
    var attempts: Int?

    @Option(help: ArgumentHelp("Seconds between progress lines on standard error (0: none).", valueName: "s"))
    var progressInterval: Double = 1

    func validate() throws {
        guard chunkTimeout > 0 && chunkTimeout <= 3600 else { throw ValidationError("--chunk-timeout must be between 0 and 3600 seconds.") }
        guard (1...64).contains(window) else { throw ValidationError("--window must be between 1 and 64.") }
        if let attempts, attempts < 1 { throw ValidationError("--attempts must be at least 1.") }
        guard progressInterval >= 0 && progressInterval <= 3600 else { throw ValidationError("--progress-interval must be between 0 and 3600 seconds.") }
    }

    func run() async throws {
        let writer: SnapshotFileWriter
        do { writer = try SnapshotFileWriter(path: file, overwrite: force) } catch {
            if case .exists = error { throw SnapshotCommand.failure("\(file) exists; pass --force to replace it once the new snapshot is complete") }
            throw SnapshotCommand.failure("cannot write \(file): \(error)")
        }
        let interruption = Self.removingOnInterrupt(writer.temporaryPath)
        defer { for source in interruption { source.cancel() } }
        try await options.withClient { client, monmap in
            let timeout = options.timeout.seconds
            let survey = await client.survey(timeout: timeout, attemptTimeout: options.attemptTimeout.seconds)
            guard !survey.replies.isEmpty else { throw UserFacingError.unreachable(monitors: monmap.described, timeout: timeout) }
            let cluster = survey.clusterMonmap.flatMap { try? MonMap(epoch: $0.epoch, members: $0.members) } ?? monmap
            let providers = survey.backupProviders
            var configuration = SyncBackupMachine.Configuration()
            configuration.chunkTimeout = chunkTimeout.seconds
            configuration.window = window
            configuration.maxAttempts = attempts ?? 2 * max(1, providers.count)
            let saver = SnapshotSaver(client: client, logger: Logger(label: "monsync.backup"))
            let started = ContinuousClock.now
            let interval = progressInterval
            let result = await saver.save(
                into: writer, providers: providers, monmap: cluster, prefixes: StoreCommand.syncTargets,
                configuration: configuration, progressInterval: interval > 0 ? interval.seconds : .seconds(3600),
                createdMilliseconds: { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) },
                progress: { progress in if interval > 0 { Self.report(progress, names: cluster) } })
            let elapsed = ContinuousClock.now - started
            switch result {
            case let .success((header, outcome)):
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? UInt64) ?? 0
                if options.json {
                    try SnapshotCommand.printJSON(Report(SnapshotReport(header, path: file, size: size, error: nil),
                                                         seconds: elapsed.inSeconds, progress: outcome.progress))
                } else {
                    let rate = elapsed.inSeconds > 0 ? Double(outcome.progress.bytes) / elapsed.inSeconds : 0
                    print("saved \(file): version \(header.version) from mon.\(header.source.name), \(header.keyCount) keys, "
                          + "\(SnapshotCommand.size(size)) in \(header.chunkCount) chunks, "
                          + String(format: "%.2f s (%@/s streamed)", elapsed.inSeconds, SnapshotCommand.size(UInt64(rate))))
                    print("digest: \(header.digest)")
                }
            case let .failure(failure):
                switch failure {
                case .permissionDenied:
                    throw SnapshotCommand.failure("\(failure); nothing was written", status: ClientExitCode.refused.rawValue)
                case .noAnswer:
                    throw SnapshotCommand.failure("\(failure); check that the monitors run, know the backup flag (MMonSync v3) and admit this key; nothing was written",
                                                  status: ClientExitCode.unreachable.rawValue)
                default:
                    throw SnapshotCommand.failure("\(failure); nothing was written")
                }
            }
        }
    }

    /// SIGINT and SIGTERM remove the partial file and exit 130 (the sources are returned to be kept
    /// alive): an interrupted save leaves nothing, as a failed one does. A signal that lands after
    /// the rename finds no partial file and leaves the complete one.
    static func removingOnInterrupt(_ temporaryPath: String) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                unlink(temporaryPath)
                FileHandle.standardError.write(Data("Error: interrupted; nothing was written\n".utf8))
                Glibc.exit(130)
            }
            source.resume()
            return source
        }
    }

    /// One progress line on standard error, as the sync's: the monitor, chunks, keys, bytes, rate, ETA.
    static func report(_ progress: SyncProgress, names: MonMap) {
        let provider = names.members.first { $0.address == progress.provider }.map { "mon.\($0.name)" } ?? progress.provider
        var line = "snapshot: \(progress.phase == .requesting ? "asking" : "\(progress.phase)") \(provider): "
            + "\(progress.chunks) chunks, \(progress.keys) keys, \(SnapshotCommand.size(progress.bytes))"
        if progress.estimatedBytes > 0 { line += " of ~\(SnapshotCommand.size(progress.estimatedBytes))" }
        if progress.rate > 0 { line += ", \(SnapshotCommand.size(UInt64(progress.rate)))/s" }
        if let eta = progress.eta { line += String(format: ", eta %.1f s", eta.inSeconds) }
        if progress.providerSwitches > 0 { line += ", \(progress.providerSwitches) restarts" }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The JSON answer: the file's header and how the backup went.
    struct Report: Encodable {
        var snapshot: SnapshotReport
        var seconds: Double
        var bytesPerSecond: Double
        var providerSwitches: Int

        init(_ snapshot: SnapshotReport, seconds: Double, progress: SyncProgress) {
            self.snapshot = snapshot
            self.seconds = seconds
            bytesPerSecond = seconds > 0 ? Double(progress.bytes) / seconds : 0
            providerSwitches = progress.providerSwitches
        }
    }
}
