import MonSyncCore
import MonSyncMessages

/// A store kept in memory: for tests and the all-in-one demo.
///
/// It behaves exactly like ``RocksDBStore`` (the same suite runs on both),
/// except that nothing survives the process. Keys are compared as bytes, not
/// as Swift strings, so canonically-equivalent but different UTF-8 keys stay
/// distinct as they do on disk.
public final class InMemoryStore: MonitorStore {
    /// Physical key (`prefix ‖ 0x00 ‖ key`) to value.
    typealias Table = [[UInt8]: [UInt8]]

    private struct State {
        var live: Table = [:]
        var staging: Table = [:]
        var marker: SyncMarker?
        var nextStagingID: UInt64 = 1
    }

    private let state = LockedState(State())

    /// Creates an empty store.
    public init() {}

    static func physicalKey(_ prefix: String, _ key: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefix.utf8.count + 1 + key.utf8.count)
        bytes.append(contentsOf: prefix.utf8)
        bytes.append(0)
        bytes.append(contentsOf: key.utf8)
        return bytes
    }

    /// The value at `(prefix, key)`, or `nil` when absent.
    public func get(_ prefix: String, _ key: String) throws(StoreError) -> [UInt8]? {
        try StoreLayout.validatePrefix(prefix)
        let physical = Self.physicalKey(prefix, key)
        return state.withLock { $0.live[physical] }
    }

    /// Whether `(prefix, key)` holds a value.
    public func exists(_ prefix: String, _ key: String) throws(StoreError) -> Bool {
        try get(prefix, key) != nil
    }

    private static func apply(_ transaction: StoreTransaction, to table: inout Table) {
        for operation in transaction.operations {
            switch operation {
            case let .put(prefix, key, value):
                table[physicalKey(prefix, key)] = Array(value)
            case let .erase(prefix, key):
                table[physicalKey(prefix, key)] = nil
            case let .erasePrefix(prefix):
                let start = physicalKey(prefix, "")
                table = table.filter { !$0.key.starts(with: start) }
            }
        }
    }

    /// Applies every operation of `transaction` atomically.
    public func apply(_ transaction: StoreTransaction) throws(StoreError) {
        try transaction.validate()
        state.withLock { state in
            Self.apply(transaction, to: &state.live)
            // The marker lives in the protected prefix like any key; keep the cached copy honest.
            state.marker = state.live[Self.physicalKey(StoreLayout.protectedPrefix, StoreLayout.inSyncKey)].flatMap { try? SyncMarker(decoding: $0) }
        }
    }

    /// A point-in-time view of `prefixes` (a copy-on-write copy of the table, sorted once).
    public func snapshot(of prefixes: [String]) throws(StoreError) -> any StoreSnapshot {
        let targets = try StoreLayout.normalizedPrefixes(prefixes, forSync: false)
        let table = state.withLock { $0.live }
        return InMemorySnapshot(table: table, prefixes: targets)
    }

    /// Opens a fresh staging area for `targets` and writes the in-sync marker.
    @discardableResult
    public func beginStaging(targets: [String]) throws(StoreError) -> SyncMarker {
        let targets = try StoreLayout.normalizedPrefixes(targets, forSync: true)
        guard !targets.isEmpty else { throw .invalidArgument("a sync needs at least one target prefix") }
        return state.withLock { state in
            let marker = SyncMarker(targets: targets, stagingID: state.nextStagingID)
            state.nextStagingID += 1
            state.staging = [:]
            state.marker = marker
            state.live[Self.physicalKey(StoreLayout.protectedPrefix, StoreLayout.inSyncKey)] = marker.encoded()
            return marker
        }
    }

    /// Applies a chunk to the staging area.
    public func stage(_ chunk: StoreTransaction) throws(StoreError) {
        try chunk.validate()
        try state.withLock { (state: inout State) throws(StoreError) in
            guard let marker = state.marker else { throw .notStaging }
            for operation in chunk.operations where !marker.targets.contains(operation.prefix) {
                throw .notAStagingTarget(operation.prefix)
            }
            Self.apply(chunk, to: &state.staging)
        }
    }

    /// Swaps the staged copy in for the targets, applies `transaction`, clears the marker (one step under the lock).
    public func commitStaging(applying transaction: StoreTransaction) throws(StoreError) {
        try transaction.validate()
        try state.withLock { (state: inout State) throws(StoreError) in
            guard let marker = state.marker else { throw .notStaging }
            let targetStarts = marker.targets.map { Self.physicalKey($0, "") }
            state.live = state.live.filter { entry in !targetStarts.contains { entry.key.starts(with: $0) } }
            state.live.merge(state.staging) { _, staged in staged }
            state.staging = [:]
            state.live[Self.physicalKey(StoreLayout.protectedPrefix, StoreLayout.inSyncKey)] = nil
            state.marker = nil
            Self.apply(transaction, to: &state.live)
        }
    }

    /// Discards the staging area and clears the in-sync marker.
    public func abandonStaging() throws(StoreError) {
        state.withLock { state in
            state.staging = [:]
            state.marker = nil
            state.live[Self.physicalKey(StoreLayout.protectedPrefix, StoreLayout.inSyncKey)] = nil
        }
    }
}

/// A copy-on-write copy of the in-memory table, sorted once, restricted to the snapshot's prefixes.
struct InMemorySnapshot: StoreSnapshot {
    let prefixes: [String]
    /// (prefix bytes, key bytes, value) in store order.
    private let entries: [(prefix: [UInt8], key: [UInt8], value: [UInt8])]

    init(table: InMemoryStore.Table, prefixes: [String]) {
        self.prefixes = prefixes
        let wanted = Set(prefixes.map { Array($0.utf8) })
        var entries: [(prefix: [UInt8], key: [UInt8], value: [UInt8])] = []
        for (physical, value) in table {
            guard let separator = physical.firstIndex(of: 0) else { continue }
            let prefix = Array(physical[..<separator])
            guard wanted.contains(prefix) else { continue }
            entries.append((prefix, Array(physical[(separator + 1)...]), value))
        }
        entries.sort { lhs, rhs in
            lhs.prefix != rhs.prefix ? lhs.prefix.lexicographicallyPrecedes(rhs.prefix) : lhs.key.lexicographicallyPrecedes(rhs.key)
        }
        self.entries = entries
        estimatedSize = entries.reduce(0) {
            $0 + UInt64(StoreTransaction.encodedSize(prefixCount: $1.prefix.count, keyCount: $1.key.count, valueCount: $1.value.count))
        }
    }

    /// Exact for what the entries encode to (chunk headers aside).
    let estimatedSize: UInt64

    func scan(after position: SyncKey, _ visit: (StoreEntryView) throws(StoreError) -> Bool) throws(StoreError) -> Bool {
        let start = SyncKeyBytes(position)
        // Binary search for the first entry strictly after `position`.
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let entry = entries[middle]
            let after = entry.prefix.withUnsafeBytes { prefix in
                entry.key.withUnsafeBytes { key in StoreLayout.isAfter(prefix: prefix, key: key, position: start) }
            }
            if after { high = middle } else { low = middle + 1 }
        }
        if position.isBeginning { low = 0 }
        var index = low
        while index < entries.count {
            let entry = entries[index]
            let keepGoing = try withBytes(entry.prefix) { (prefix) throws(StoreError) -> Bool in
                try withBytes(entry.key) { (key) throws(StoreError) -> Bool in
                    try withBytes(entry.value) { (value) throws(StoreError) -> Bool in
                        try visit(StoreEntryView(prefix: prefix, key: key, value: value))
                    }
                }
            }
            if !keepGoing { return false }
            index += 1
        }
        return true
    }
}
