/// Builds a monitor's store from a snapshot file, for disaster recovery when every monitor is lost.
///
/// The file's chunks go into the store's staging area exactly as a store sync's do (the
/// SST-ingestion path on RocksDB), and are swapped in only once the whole file has been read
/// and matched its header — CRCs, format rules, counts and digest. So a damaged file leaves the
/// store as it was (empty). The swap applies `epilogue` (the monmap to start with) and raises the
/// `last_committed` floor to the snapshot's version. The result is what a monitor holds after a
/// store sync from a provider at that version: `paxos/first_committed` = `paxos/last_committed` =
/// the version, and the data of that version.
public enum SnapshotRestore {
    /// Restores `reader`'s snapshot into `store`, which must be empty (no Paxos version, no data
    /// under the snapshot's prefixes); returns the digest of the store's sync targets afterwards,
    /// read back from the store.
    ///
    /// - Throws: ``SnapshotFileError`` for a file that fails any check (nothing is kept), or
    ///   ``SnapshotFileError/store(_:)`` when the store refuses (not empty, I/O).
    @discardableResult
    public static func restore(_ reader: SnapshotFileReader, into store: any MonitorStore,
                               epilogue: StoreTransaction = StoreTransaction()) throws(SnapshotFileError) -> StoreDigest {
        let prefixes = reader.header.prefixes
        guard prefixes.contains(PaxosLog.prefix) else {
            throw .headerCorrupt("it does not cover the Paxos log (prefixes \(prefixes.joined(separator: ", "))): a monitor cannot start from it")
        }
        do throws(StoreError) {
            let existing = try store.digest(of: prefixes)
            guard existing.keyCount == 0 else {
                throw StoreError.invalidArgument("the store is not empty (\(existing.keyCount) keys under \(prefixes.joined(separator: ", ")))")
            }
            _ = try store.beginStaging(targets: prefixes)
        } catch {
            throw .store(error)
        }
        do throws(SnapshotFileError) {
            try reader.verify { (chunk: EncodedTransaction) throws(StoreError) in
                _ = try store.stage(encoded: chunk)
            }
            var swap = epilogue
            swap.setLastCommittedFloor(reader.header.version)
            do { try store.commitStaging(applying: swap) } catch { throw SnapshotFileError.store(error) }
        } catch {
            try? store.abandonStaging()
            throw error
        }
        do { return try store.digest(of: prefixes) } catch { throw .store(error) }
    }
}
