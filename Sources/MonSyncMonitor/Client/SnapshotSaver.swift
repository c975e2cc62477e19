public import Logging
public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore
public import MonSyncStoreSync

/// Saves a consistent snapshot of a live cluster into a file (`monsync snapshot save`): runs a
/// `SyncBackupMachine` on a ``MonitorClient``'s address and writes what it accepts with a
/// `SnapshotFileWriter`.
///
/// The client's address receives the provider's CHUNKs beside its command replies, and the
/// backup's sends go through one queue per monitor, as a monitor's own do, so a monitor that
/// went silent never holds up the switch to the next. A chunk is written before it is
/// acknowledged. The file becomes the destination only when the last chunk is in and the
/// whole file checked out; any failure leaves no file at the destination.
///
/// ```swift
/// let saver = SnapshotSaver(client: client)
/// let writer = try SnapshotFileWriter(path: "backup.msnap")
/// let result = await saver.save(into: writer, providers: survey.providers, monmap: monmap,
///                               prefixes: ["kv", "kv_clients", "paxos"])
/// ```
public final class SnapshotSaver: Sendable {
    enum Event: Sendable {
        case message(MMonSync, TransportAddress)
        case timer(UInt64)
    }

    private let client: MonitorClient
    private let timebase: Timebase
    private let logger: Logger
    /// The running backup's mailbox: CHUNKs that arrive at other times are dropped.
    private let mailbox = LockedState<SyncMailbox<Event>?>(nil)

    /// A saver on `client`'s address (started or not).
    public init(client: MonitorClient, timebase: Timebase = .continuous, logger: Logger = Logger(label: "monsync.backup")) {
        self.client = client
        self.timebase = timebase
        self.logger = logger
        let mailbox = mailbox
        client.dispatcher.register { router in
            router.register(MMonSync.self) { message, context in
                _ = mailbox.withLock { $0 }?.post(.message(message, context.sender))
            }
        }
    }

    /// Streams a snapshot from the first of `providers` that serves one into `writer`, and
    /// completes the file.
    ///
    /// - Parameters:
    ///   - providers: the monitors to ask, best first.
    ///   - monmap: the source cluster's monmap, recorded in the header.
    ///   - prefixes: the sync targets the snapshot covers (the provider's; MonSync's are `kv`,
    ///     `kv_clients`, `paxos`): an entry under any other prefix is refused.
    ///   - configuration: the backup client's timers and limits.
    ///   - progressInterval: how often `progress` is called while the backup runs (and once at its end).
    ///   - createdMilliseconds: the wall-clock time to record as the file's creation (Unix milliseconds).
    ///   - writer: where the accepted chunks go; it completes the file only once the stream ended whole.
    ///   - progress: called with the backup's progress every `progressInterval`, and once at its end.
    /// - Returns: the file's final header and how the backup went; on failure, nothing is at the
    ///   writer's destination.
    public func save(into writer: SnapshotFileWriter, providers: [MonitorEntity], monmap: MonMap, prefixes: [String],
                     configuration: SyncBackupMachine.Configuration = .init(), progressInterval: Duration = .seconds(1),
                     createdMilliseconds: () -> UInt64, progress: (SyncProgress) -> Void = { _ in }) async
        -> Result<(header: SnapshotFileHeader, outcome: SyncBackupOutcome), SyncBackupFailure> {
        var machine = SyncBackupMachine(configuration: configuration, providers: providers,
                                        session: UInt64.random(in: 1 ... .max), logger: logger)
        let peers = Set(providers.compactMap { try? TransportAddress($0.address) })
        let outbox = PeerOutbox(dispatcher: client.dispatcher, logger: logger, peers: peers)
        let mailbox = SyncMailbox<Event>(capacity: max(64, configuration.window * 4))
        self.mailbox.withLock { $0 = mailbox }
        var timer: Task<Void, Never>?
        defer {
            timer?.cancel()
            mailbox.close()
            self.mailbox.withLock { $0 = nil }
        }
        let header = { (provider: MonitorEntity, version: UInt64, firstCommitted: UInt64) in
            SnapshotFileHeader(version: version, sourceFirstCommitted: firstCommitted, monmapEpoch: monmap.epoch,
                               monmap: monmap.members, source: provider, prefixes: prefixes)
        }
        var lastReport = timebase.now
        var input = SyncBackupInput.begin
        var result: Result<(header: SnapshotFileHeader, outcome: SyncBackupOutcome), SyncBackupFailure>?
        while result == nil {
            var actions = machine.step(input, now: timebase.now)[...]
            while let action = actions.popFirst(), result == nil {
                switch action {
                case let .send(message, destination):
                    outbox.send(message, to: destination)
                case let .arm(deadline, generation):
                    timer?.cancel()
                    let timebase = timebase
                    timer = Task {
                        do { try await timebase.sleep(until: deadline) } catch { return }
                        mailbox.post(.timer(generation), force: true)
                    }
                case .cancelTimer:
                    timer?.cancel()
                    timer = nil
                case let .beginFile(provider, version, firstCommitted):
                    do throws(SnapshotFileError) { try writer.begin(header(provider, version, firstCommitted)) } catch {
                        actions = machine.step(.writeFailed("\(error)"), now: timebase.now)[...]
                    }
                case let .write(chunk):
                    do throws(SnapshotFileError) { try writer.append(chunk) } catch {
                        if case .contentInvalid = error {
                            actions = machine.step(.chunkRefused("\(error)"), now: timebase.now)[...]
                        } else {
                            actions = machine.step(.writeFailed("\(error)"), now: timebase.now)[...]
                        }
                    }
                case let .finished(.success(outcome)):
                    do throws(SnapshotFileError) {
                        result = .success((try writer.finish(createdMilliseconds: createdMilliseconds()), outcome))
                    } catch {
                        writer.discard()
                        result = .failure(.writeFailed("\(error)"))
                    }
                case let .finished(.failure(failure)):
                    writer.discard()
                    result = .failure(failure)
                }
            }
            if let result {
                progress(machine.progress)
                await Self.drain(outbox, within: .seconds(2), timebase: timebase)
                return result
            }
            if timebase.now - lastReport >= progressInterval {
                lastReport = timebase.now
                progress(machine.progress)
            }
            switch await mailbox.next() {
            case let .message(message, sender)?: input = .message(message, from: sender)
            case let .timer(generation)?: input = .timer(generation: generation)
            case nil: input = .cancel
            }
        }
        return result!
    }

    /// Lets the last sends (the final CHUNK_REPLY, ABORTs) go out, waiting at most `limit`: a
    /// provider that does not take them must not hold the command up (its session times out).
    private static func drain(_ outbox: PeerOutbox, within limit: Duration, timebase: Timebase) async {
        let closed = LockedState(false)
        // Not awaited past the limit: it ends when the sends do (or time out), or with the process.
        Task {
            await outbox.close()
            closed.withLock { $0 = true }
        }
        let deadline = timebase.now + limit
        while timebase.now < deadline, !closed.withLock({ $0 }) {
            try? await timebase.sleep(for: .milliseconds(10))
        }
    }
}
