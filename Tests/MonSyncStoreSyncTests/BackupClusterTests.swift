import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
import MonSyncMonitor
import MonSyncStore
import MonSyncStoreSync
import MonSyncTestSupport
import Testing

/// ``SnapshotSaver`` against living monitors on the loopback transport and a test clock: the backup
/// client is not a member, holds no trim and joins no quorum; the monitors it was restored into are
/// a cluster of their own.
@Suite("Backup inside a living monitor cluster", .timeLimit(.minutes(3)))
struct BackupClusterTests {
    /// What a provider streams: every sync target (`monmap` included, which holds the required
    /// monitor features from the first write on; a narrower list breaks the file's format).
    static let prefixes = ServiceRegistry.standard.syncTargetNames

    @Test("a backup taken while writes go on restores into three stores that form a quorum with the file's digest")
    func backupAndRestore() async throws {
        var sync = SyncConfiguration()
        sync.chunkLimits = ChunkLimits(maxBytes: 4096, maxKeys: 32)
        let cluster = try MonitorCluster.sync(seed: 31, sync: sync)
        try await cluster.startAll()
        try await cluster.waitForQuorum([0, 1, 2])
        let client = try await cluster.client()
        for index in 0..<150 {
            _ = try await cluster.perform { try await client.put("key-\(index)", Array(repeating: UInt8(index % 251), count: 200)) }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-backup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/cluster.msnap"

        // A writer keeps committing while the backup streams.
        let writing = LockedState(true)
        let writer = Task {
            var index = 150
            while writing.withLock({ $0 }) {
                _ = try? await client.put("key-\(index)", [UInt8(index % 251)])
                index += 1
            }
        }
        let backupClient = try await cluster.client()
        let holdsBefore = await cluster.monitor(0)!.trimHoldCount
        let clock = cluster.clock
        let result = try await cluster.perform {
            let survey = await backupClient.survey(timeout: .seconds(5))
            let saver = SnapshotSaver(client: backupClient, timebase: Timebase(clock), logger: quietLogger)
            let writer = try SnapshotFileWriter(path: path)
            return await saver.save(into: writer, providers: survey.backupProviders, monmap: backupClient.monmap,
                                    prefixes: Self.prefixes, createdMilliseconds: { 42 })
        }
        writing.withLock { $0 = false }
        await writer.value
        let (header, outcome) = try result.get()
        #expect(outcome.progress.chunks > 5 && outcome.progress.providerSwitches == 0)
        #expect(header.source.rank != (await cluster.monitor(0)!.status.leader ?? -1), "a peon streamed it, not the leader")
        #expect(await cluster.monitor(0)!.trimHoldCount == holdsBefore, "a backup holds no trim")
        var leaderGrants = 0
        for rank in 0..<3 { leaderGrants += await cluster.monitor(rank)!.syncGrants.count }
        #expect(leaderGrants == 0, "no leader granted anything: a backup asks no leader")
        var backups = 0
        for rank in 0..<3 { backups += await cluster.monitor(rank)!.syncProviderStatistics.backupSessionsCompleted }
        #expect(backups == 1)
        #expect(try SnapshotFileReader(path: path).verify() == header.digest)
        await backupClient.shutdown()
        await client.shutdown()
        await cluster.stopAll()

        // Every monitor is lost; three fresh stores are restored from the file and started.
        let restored = try MonitorCluster.sync(seed: 32, sync: sync)
        var stores: [InMemoryStore] = []
        for _ in 0..<3 {
            let store = InMemoryStore()
            var epilogue = StoreTransaction()
            epilogue.setLatestMonmap(restored.monmap.encoded())
            #expect(try SnapshotRestore.restore(try SnapshotFileReader(path: path), into: store, epilogue: epilogue) == header.digest)
            stores.append(store)
        }
        for rank in 0..<3 { try await restored.start(rank, store: stores[rank]) }
        try await restored.waitForQuorum([0, 1, 2])
        let reader = try await restored.client()
        let value = try await restored.perform { try await reader.get("key-7") }
        #expect(value == Array(repeating: 7, count: 200))
        for rank in 0..<3 {
            #expect(await restored.monitor(rank)!.lastCommitted == header.version)
            #expect(try stores[rank].digest(of: Self.prefixes) == header.digest)
        }
        await reader.shutdown()
        await restored.stopAll()
    }
}
