import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// A tiny replicated key-value service on its own prefix, whose writes are Paxos proposals.
///
/// Values live at `kv/<key>`. Beside each batch of writes the leader records,
/// in the same Paxos version, the tids it applied for each client at
/// `kv_clients/<client id in hex>` (the most recent ``dedupWindow`` of them),
/// so a write resent after a leader change (same client, same tid) is
/// recognised as applied and not applied twice, even when the client sent
/// later writes in between.
public struct KeyValueService: MonitorService {
    /// The prefix of the values.
    public static let prefix = "kv"
    /// The prefix of the per-client applied-tid records.
    public static let clientsPrefix = "kv_clients"
    /// The most keys one LIST reply carries.
    public static let maximumListedKeys = 10_000
    /// How many applied tids are remembered per client.
    public static let dedupWindow = 1024

    /// Whether applied-tid records in the runs form are read (a build before them refused them as corrupt).
    public let readsRuns: Bool
    /// Whether applied-tid records are written as runs when shorter: only once the cluster requires
    /// `MonitorFeatures.appliedTidRuns`, so every monitor that may lead can read them.
    public let writesRuns: Bool

    /// The service (it is stateless: everything it knows is in the store).
    /// - Parameters:
    ///   - readsRuns: whether records in the runs form are read, not refused as corrupt.
    ///   - writesRuns: whether records are written as runs when shorter than the list.
    public init(readsRuns: Bool = true, writesRuns: Bool = false) {
        self.readsRuns = readsRuns
        self.writesRuns = writesRuns
    }

    /// `kv`.
    public var name: String { "kv" }
    /// ``prefix`` and ``clientsPrefix``.
    public var prefixes: [String] { [Self.prefix, Self.clientsPrefix] }

    /// What the service knows about a client's tid.
    public enum TidState: Sendable, Hashable {
        /// Not applied: the write may be proposed.
        case new
        /// Already committed: answer OK without proposing it again.
        case applied
        /// Older than every remembered tid of a full window: whether it was applied is no longer known.
        case tooOld
    }

    /// Whether `tid` of `clientID` was already committed.
    public func state(ofTid tid: UInt64, clientID: UInt64, in store: any MonitorStore) throws(StoreError) -> TidState {
        Self.state(ofTid: tid, in: try appliedRecord(clientID: clientID, in: store))
    }

    /// Whether `tid` is in `applied`, a client's record (``appliedRecord(clientID:in:)``): for a
    /// caller that checks many tids of one client against one state of the store.
    static func state(ofTid tid: UInt64, in applied: AppliedTids) -> TidState {
        if applied.contains(tid) { return .applied }
        if applied.count >= Self.dedupWindow, let oldest = applied.oldest, tid < oldest { return .tooOld }
        return .new
    }

    /// The transaction that applies `writes` (PUT and DELETE commands, in order) and records their tids.
    public func transaction(applying writes: [MMonCommand], in store: any MonitorStore) throws(StoreError) -> StoreTransaction {
        var transaction = StoreTransaction()
        var applied: [UInt64: [UInt64]] = [:]
        for command in writes {
            switch command.op {
            case .put: transaction.put(Self.prefix, command.key, command.value)
            case .delete: transaction.erase(Self.prefix, command.key)
            case .get, .list, .status, .monAdd, .monRemove: continue
            }
            if applied[command.clientID] == nil { applied[command.clientID] = try appliedTids(clientID: command.clientID, in: store) }
            applied[command.clientID]!.append(command.tid)
        }
        for (clientID, tids) in applied.sorted(by: { $0.key < $1.key }) {
            // Each tid once (a write resent into the same batch is applied twice, harmlessly, but recorded once).
            transaction.put(Self.clientsPrefix, Self.clientKey(clientID), Self.encodeApplied(Array(Set(tids).sorted().suffix(Self.dedupWindow)), runs: writesRuns))
        }
        return transaction
    }

    /// The tids of `clientID` applied so far (the most recent window), ascending.
    public func appliedTids(clientID: UInt64, in store: any MonitorStore) throws(StoreError) -> [UInt64] {
        try appliedRecord(clientID: clientID, in: store).tids
    }

    /// The record of `clientID` as runs, not expanded.
    func appliedRecord(clientID: UInt64, in store: any MonitorStore) throws(StoreError) -> AppliedTids {
        guard let bytes = try store.get(Self.clientsPrefix, Self.clientKey(clientID)) else { return AppliedTids() }
        do { return try AppliedTids(decoding: bytes, runs: readsRuns) } catch { throw .corrupt(error) }
    }

    /// Marks a record written as ranges: a plain list never counts this many tids.
    static let rangesMarker = UInt32.max

    /// The applied-tid record of ascending, distinct `tids`, in whichever of its two forms is
    /// smaller, the list on a tie (PROTOCOL.md §9): the plain list (`u32` count, `u64` tids), or the
    /// maximal runs of consecutive tids (``rangesMarker``, `u32` run count, then each run's first
    /// `u64` tid and `u32` length).
    ///
    /// A client numbers its commands one after the other, so its record is one run: 20 bytes
    /// where the list of a full window is 8 KiB — rewritten, and logged in the Paxos version, with
    /// every write the client makes (measured: 23 KB written per 100-byte write, and the memtable
    /// flushes and compactions that follow held client writes up to 250 ms).
    /// With `runs` false (the cluster does not require `MonitorFeatures.appliedTidRuns` yet), always the list.
    static func encodeApplied(_ tids: [UInt64], runs allowed: Bool = true) -> [UInt8] {
        let runs = AppliedTids(tids).runs
        var encoder = WireEncoder()
        if allowed && runs.count * 12 + 4 < tids.count * 8 {
            encoder.encode(rangesMarker)
            encoder.encodeList(runs) { encoder, run in
                encoder.encode(run.first)
                encoder.encode(run.length)
            }
        } else {
            encoder.encodeList(tids) { $0.encode($1) }
        }
        return encoder.finish()
    }

    /// The tids of an applied-tid record in either form, ascending (``AppliedTids/init(decoding:runs:)``
    /// says what is corrupt).
    static func decodeApplied(_ bytes: [UInt8], runs allowed: Bool = true) throws(DecodeError) -> [UInt64] {
        try AppliedTids(decoding: bytes, runs: allowed).tids
    }

    /// The value of `key`, or `nil`.
    public func get(_ key: String, in store: any MonitorStore) throws(StoreError) -> [UInt8]? {
        try store.get(Self.prefix, key)
    }

    /// The keys that start with `prefix`, ascending bytewise.
    public func list(prefix: String, in store: any MonitorStore) throws(StoreError) -> [String] {
        var keys: [String] = []
        var after = ""
        while true {
            let page = try list(prefix: prefix, after: after, limit: Self.maximumListedKeys, in: store)
            keys += page.keys
            guard page.more, let last = page.keys.last else { return keys }
            after = last
        }
    }

    /// One page of the keys that start with `prefix`: at most `limit` of them, ascending bytewise,
    /// strictly after `after` (from the first when empty), and whether more follow.
    ///
    /// The scan starts at the page's first key and stops one key past its last, so a page costs
    /// what it returns, not the size of the store.
    public func list(prefix: String, after: String, limit: Int, in store: any MonitorStore) throws(StoreError) -> (keys: [String], more: Bool) {
        let limit = max(1, limit)
        var keys: [String] = []
        var more = false
        // Keys that start with `prefix` are the keys from `prefix` itself on, up to the first that does not:
        // start after whichever bound is later, `after` or just before `prefix`.
        var start = after
        if !prefix.isEmpty && after.utf8.lexicographicallyPrecedes(prefix.utf8) {
            // `prefix` itself may be a key; scan(after:) would skip it.
            if try store.get(Self.prefix, prefix) != nil { keys.append(prefix) }
            start = prefix
        }
        let snapshot = try store.snapshot(of: [Self.prefix])
        _ = try snapshot.scan(after: SyncKey(prefix: Self.prefix, key: start)) { (entry: StoreEntryView) throws(StoreError) -> Bool in
            guard entry.prefix.elementsEqual(Self.prefix.utf8) else { return false }
            let key = String(decoding: entry.key, as: UTF8.self)
            guard key.hasPrefix(prefix) else { return false }
            guard keys.count < limit else {
                more = true
                return false
            }
            keys.append(key)
            return true
        }
        return (keys, more)
    }

    static func clientKey(_ clientID: UInt64) -> String {
        let hex = String(clientID, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
