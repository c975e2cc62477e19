import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncStore
import MonSyncStoreSync
import Testing

/// The backup client's machine alone, and against a real provider machine: inputs in, actions out.
@Suite("Backup: the backup client's machine and the provider's backup streams")
struct SyncBackupMachineTests {
    static let a = MonitorEntity(rank: 0, name: "a", address: "loopback://mon.a")
    static let b = MonitorEntity(rank: 1, name: "b", address: "loopback://mon.b")
    static let c = MonitorEntity(rank: 2, name: "c", address: "loopback://mon.c")
    static let client: TransportAddress = "loopback://backup.1"
    static let session: UInt64 = 4242

    static func machine(_ configuration: SyncBackupMachine.Configuration = .init(), providers: [MonitorEntity] = [b, a, c]) -> SyncBackupMachine {
        SyncBackupMachine(configuration: configuration, providers: providers, session: session, logger: quietLogger)
    }

    static func sends(_ actions: [SyncBackupAction]) -> [(MMonSync, TransportAddress)] {
        actions.compactMap { if case let .send(message, destination) = $0 { (message, destination) } else { nil } }
    }

    static func deadline(in actions: [SyncBackupAction]) -> (Duration, UInt64)? {
        actions.compactMap { if case let .arm(at, generation) = $0 { (at, generation) } else { nil } }.last
    }

    static func result(in actions: [SyncBackupAction]) -> Result<SyncBackupOutcome, SyncBackupFailure>? {
        actions.compactMap { if case let .finished(result) = $0 { result } else { nil } }.first
    }

    /// A valid chunk of one put.
    static func chunk(_ sequence: UInt64, key: String, version: UInt64 = 40, last: Bool = false) -> MMonSync {
        var transaction = StoreTransaction()
        transaction.put("kv", key, [1, 2, 3])
        let body = transaction.encoded()
        return MMonSync(op: .chunk, flags: last ? [.crc, .last] : .crc, version: version, chunk: body[...],
                        lastKey: SyncKey(prefix: "kv", key: key), crc: CRC32C.checksum(body), session: session,
                        sequence: sequence, firstCommitted: 30)
    }

    @Test("asks the first monitor for a backup stream, writes each chunk before acknowledging it, ends at the last")
    func happyPath() throws {
        var machine = Self.machine()
        let begun = machine.step(.begin, now: .zero)
        let ask = try #require(Self.sends(begun).first)
        #expect(ask.1 == "loopback://mon.b")
        #expect(ask.0.op == .startChunks && ask.0.flags == .backup && ask.0.lastKey.isBeginning && ask.0.requesterVersion == 0)
        #expect(ask.0.window == 8 && ask.0.session == Self.session)
        #expect(Self.deadline(in: begun)?.0 == .seconds(15))

        let first = machine.step(.message(Self.chunk(ask.0.sequence, key: "a"), from: "loopback://mon.b"), now: .seconds(1))
        guard case let .beginFile(provider, version, firstCommitted)? = first.first else {
            Issue.record("the first chunk did not start the file: \(first)")
            return
        }
        #expect(provider == Self.b && version == 40 && firstCommitted == 30)
        guard case .write = first[1], case let .send(reply, to) = first[2] else {
            Issue.record("not write, then acknowledge: \(first)")
            return
        }
        #expect(reply.op == .chunkReply && reply.sequence == ask.0.sequence && to == "loopback://mon.b")
        #expect(Self.deadline(in: first)?.0 == .seconds(16), "the deadline moves with each chunk")

        let end = machine.step(.message(Self.chunk(ask.0.sequence + 1, key: "b", last: true), from: "loopback://mon.b"), now: .seconds(2))
        #expect(Self.sends(end).map(\.0.flags) == [.last], "the last chunk is acknowledged as such")
        guard case let .success(outcome)? = Self.result(in: end) else {
            Issue.record("no success: \(end)")
            return
        }
        #expect(outcome.version == 40 && outcome.provider == Self.b)
        #expect(outcome.progress.chunks == 2 && outcome.progress.keys == 2 && outcome.progress.phase == .done)
        #expect(machine.hasEnded && machine.step(.timer(generation: 1), now: .seconds(3)).isEmpty)
    }

    @Test("a silent monitor is left at the deadline: ABORT to it, the next monitor asked from the first key with higher numbers")
    func silentProviderIsReplaced() throws {
        var machine = Self.machine()
        let begun = machine.step(.begin, now: .zero)
        let first = try #require(Self.sends(begun).first).0
        _ = machine.step(.message(Self.chunk(first.sequence, key: "a"), from: "loopback://mon.b"), now: .seconds(1))
        // Chunks from someone else, or of another session, never move the deadline.
        let stale = machine.step(.message(Self.chunk(first.sequence + 1, key: "b"), from: "loopback://mon.c"), now: .seconds(5))
        #expect(stale.isEmpty && machine.progress.staleMessages == 1)
        let (at, generation) = (Duration.seconds(16), UInt64(2))
        let fired = machine.step(.timer(generation: generation), now: at)
        let sent = Self.sends(fired)
        #expect(sent.map(\.0.op) == [.abort, .startChunks])
        #expect(sent[0].1 == "loopback://mon.b" && sent[1].1 == "loopback://mon.a")
        #expect(sent[1].0.lastKey.isBeginning, "a new stream starts the file over")
        #expect(sent[1].0.sequence > first.sequence + 8, "numbered past anything b may still send")
        #expect(machine.progress.providerSwitches == 1)
        // b's late chunk is stale now; a's first chunk starts the file over.
        #expect(machine.step(.message(Self.chunk(first.sequence + 1, key: "b"), from: "loopback://mon.b"), now: at).isEmpty)
        let restart = machine.step(.message(Self.chunk(sent[1].0.sequence, key: "a", version: 44), from: "loopback://mon.a"), now: at)
        guard case let .beginFile(provider, version, _)? = restart.first else {
            Issue.record("the new stream did not start the file over: \(restart)")
            return
        }
        #expect(provider == Self.a && version == 44)
        #expect(machine.progress.chunks == 1, "progress counts the file being written")
    }

    @Test("a chunk failing its CRC, a lost chunk, a changed version or a chunk the file refuses each move to the next monitor")
    func badChunksMoveOn() throws {
        for fault in 0..<4 {
            var machine = Self.machine()
            let first = try #require(Self.sends(machine.step(.begin, now: .zero)).first).0
            _ = machine.step(.message(Self.chunk(first.sequence, key: "a"), from: "loopback://mon.b"), now: .seconds(1))
            var next = Self.chunk(first.sequence + 1, key: "b")
            var actions: [SyncBackupAction]
            switch fault {
            case 0: next.crc ^= 1
            case 1: next.sequence += 1
            case 2: next.version += 1
            default: break
            }
            actions = machine.step(.message(next, from: "loopback://mon.b"), now: .seconds(2))
            if fault == 3 {
                #expect(actions.contains { if case .write = $0 { true } else { false } })
                actions = machine.step(.chunkRefused("out of order"), now: .seconds(2))
            }
            #expect(Self.sends(actions).map(\.0.op) == [.abort, .startChunks], "fault \(fault)")
            #expect(Self.sends(actions).last?.1 == "loopback://mon.a", "fault \(fault)")
            #expect(machine.progress.corruptChunks == (fault == 0 || fault == 3 ? 1 : 0), "fault \(fault)")
        }
    }

    @Test("permission_denied ends the backup at once; busy monitors are tried in turn, a round after a pause, then it gives up")
    func refusals() throws {
        var denied = Self.machine()
        let ask = try #require(Self.sends(denied.step(.begin, now: .zero)).first).0
        let refusal = denied.step(.message(MMonSync(op: .abort, session: Self.session, reason: .permissionDenied), from: "loopback://mon.b"),
                                  now: .seconds(1))
        #expect(Self.result(in: refusal).flatMap { try? $0.get() } == nil)
        if case .failure(.permissionDenied)? = Self.result(in: refusal) {} else { Issue.record("not permission denied: \(refusal)") }
        #expect(Self.sends(refusal).isEmpty, "nothing more is sent to a monitor that refused")
        _ = ask

        var configuration = SyncBackupMachine.Configuration()
        configuration.maxAttempts = 4
        var busy = Self.machine(configuration)
        var now = Duration.zero
        var asked: [TransportAddress] = []
        var actions = busy.step(.begin, now: now)
        while Self.result(in: actions) == nil {
            if let (message, to) = Self.sends(actions).last(where: { $0.0.op == .startChunks }) {
                asked.append(to)
                now += .milliseconds(100)
                actions = busy.step(.message(MMonSync(op: .abort, flags: .retry, session: message.session, reason: .busy), from: to), now: now)
            } else {
                let (at, generation) = try #require(Self.deadline(in: actions), "a pause before the next round")
                #expect(at == now + .seconds(2))
                now = at
                actions = busy.step(.timer(generation: generation), now: now)
            }
        }
        #expect(asked == ["loopback://mon.b", "loopback://mon.a", "loopback://mon.c", "loopback://mon.b"])
        guard case let .failure(.noProviderServed(attempts, reason))? = Self.result(in: actions) else {
            Issue.record("not noProviderServed: \(actions)")
            return
        }
        #expect(attempts == 4 && reason.contains("busy"))
        #expect(busy.progress.retries == 4 && busy.progress.phase == .failed)
    }

    @Test("monitors that never answer end in noAnswer; a write failure ends the backup and tells the provider")
    func silenceAndWriteFailure() throws {
        var configuration = SyncBackupMachine.Configuration()
        configuration.maxAttempts = 2
        var silent = Self.machine(configuration, providers: [Self.a, Self.b])
        var actions = silent.step(.begin, now: .zero)
        var now = Duration.zero
        while Self.result(in: actions) == nil {
            let (at, generation) = try #require(Self.deadline(in: actions))
            now = at
            actions = silent.step(.timer(generation: generation), now: now)
        }
        guard case .failure(.noAnswer(2, _))? = Self.result(in: actions) else {
            Issue.record("not noAnswer: \(actions)")
            return
        }
        #expect(now == .seconds(30))

        var writing = Self.machine()
        let first = try #require(Self.sends(writing.step(.begin, now: .zero)).first).0
        _ = writing.step(.message(Self.chunk(first.sequence, key: "a"), from: "loopback://mon.b"), now: .seconds(1))
        let failed = writing.step(.writeFailed("No space left on device"), now: .seconds(1))
        #expect(Self.sends(failed).map(\.0.op) == [.abort])
        if case .failure(.writeFailed)? = Self.result(in: failed) {} else { Issue.record("not writeFailed: \(failed)") }
    }

    // MARK: Against a real provider

    /// A provider of a store holding a trimmed log: versions 1…40, kept from 21.
    static func providerStore() throws -> InMemoryStore {
        let store = InMemoryStore()
        let log = PaxosLog(store: store)
        for version in UInt64(1)...40 {
            var transaction = StoreTransaction()
            for index in 0..<25 { transaction.put("kv", "key-\(version)-\(index)", Array(repeating: UInt8(version), count: 100 + index)) }
            try log.commit(version: version, transaction)
        }
        try log.trim(to: 21)
        return store
    }

    @Test("a provider serves a non-member's backup stream only with the BACKUP flag, and on its own cap")
    func providerServesBackups() throws {
        var configuration = SyncConfiguration()
        configuration.maxBackupSessions = 1
        configuration.maxProviderSessions = 1
        configuration.chunkLimits = ChunkLimits(maxBytes: 2048, maxKeys: 40)
        var provider = SyncProviderMachine(store: try Self.providerStore(), configuration: configuration, logger: quietLogger)
        let targets = ["kv", "kv_clients", "paxos"]
        let plain = MMonSync(op: .startChunks, session: 1, sequence: 1, window: 2)
        #expect(provider.handleStartChunks(plain, from: Self.client, isMember: false, canServe: true, targets: targets, now: .zero).isEmpty)
        #expect(provider.statistics.refusedStrangers == 1, "a stranger without the flag is dropped, as before")

        let backup = MMonSync(op: .startChunks, flags: .backup, session: 1, sequence: 1, window: 2)
        let chunks = provider.handleStartChunks(backup, from: Self.client, isMember: false, canServe: true, targets: targets, now: .zero)
        #expect(chunks.count == 2 && chunks.allSatisfy { $0.destination == Self.client && $0.message.op == .chunk })
        #expect(provider.activeBackupSessions == 1 && provider.statistics.backupSessionsStarted == 1)

        // A second backup is busy; a member's sync still has its own slot.
        let second = provider.handleStartChunks(MMonSync(op: .startChunks, flags: .backup, session: 2, sequence: 1, window: 2),
                                                from: "loopback://backup.2", isMember: false, canServe: true, targets: targets, now: .zero)
        #expect(second.map(\.message.reason) == [.busy] && second.first?.message.flags == .retry)
        let sync = provider.handleStartChunks(MMonSync(op: .startChunks, session: 3, sequence: 1, window: 2),
                                              from: "loopback://mon.c", isMember: true, canServe: true, targets: targets, now: .zero)
        #expect(sync.allSatisfy { $0.message.op == .chunk } && sync.count == 2)

        // Backups off: refused as busy with RETRY (no slot), members unaffected.
        configuration.maxBackupSessions = 0
        var off = SyncProviderMachine(store: try Self.providerStore(), configuration: configuration, logger: quietLogger)
        #expect(off.handleStartChunks(backup, from: Self.client, isMember: false, canServe: true, targets: targets, now: .zero)
            .map(\.message.reason) == [.busy])
    }

    @Test("backup client and provider machines alone: the file holds the provider's snapshot at its version, verified")
    func backupAgainstAProvider() throws {
        let store = try Self.providerStore()
        var sync = SyncConfiguration()
        sync.chunkLimits = ChunkLimits(maxBytes: 2048, maxKeys: 40)
        var provider = SyncProviderMachine(store: store, configuration: sync, logger: quietLogger)
        var backup = Self.machine(providers: [Self.b])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-backup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try SnapshotFileWriter(path: directory + "/b.msnap")
        var pending = backup.step(.begin, now: .zero)
        var result: Result<SyncBackupOutcome, SyncBackupFailure>?
        var rounds = 0
        while result == nil, rounds < 10_000 {
            rounds += 1
            var replies: [SyncSend] = []
            for action in pending {
                switch action {
                case let .send(message, _):
                    switch message.op {
                    case .startChunks:
                        replies += provider.handleStartChunks(message, from: Self.client, isMember: false, canServe: true,
                                                              targets: ["kv", "kv_clients", "paxos"], now: .zero)
                    case .chunkReply: replies += provider.handleChunkReply(message, from: Self.client, now: .zero)
                    default: break
                    }
                case let .beginFile(entity, version, firstCommitted):
                    try writer.begin(SnapshotFileHeader(version: version, sourceFirstCommitted: firstCommitted, monmapEpoch: 1,
                                                        monmap: [Self.a, Self.b], source: entity, prefixes: ["kv", "kv_clients", "paxos"]))
                case let .write(chunk): try writer.append(chunk)
                case let .finished(finished): result = finished
                case .arm, .cancelTimer: break
                }
            }
            pending = replies.flatMap { backup.step(.message($0.message, from: "loopback://mon.b"), now: .zero) }
        }
        let outcome = try #require(try result?.get())
        #expect(outcome.version == 40)
        #expect(provider.activeSessions == 0 && provider.statistics.backupSessionsCompleted == 1, "the provider closed the session")
        let header = try writer.finish(createdMilliseconds: 1)
        let digest = try SnapshotFileReader(path: directory + "/b.msnap").verify()
        #expect(digest == header.digest)
        #expect(header.keyCount == 40 * 25 + 3, "every kv key, paxos/40 and the two bounds")
        #expect(outcome.progress.chunks > 10)
    }
}
