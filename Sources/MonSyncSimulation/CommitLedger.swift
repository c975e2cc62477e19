import MonSyncMonitor
import MonSyncStore

/// Every Paxos version any monitor committed, as observed in the persists the machines asked for:
/// the agreement checker (one value per version, ever) and the source of the durability check.
struct CommitLedger {
    private(set) var values: [UInt64: [UInt8]] = [:]
    private(set) var violations: [String] = []
    /// Whether to note the monmaps the committed values make current (the membership scenario).
    let tracksMonmaps: Bool
    /// The monmaps committed through Paxos, by version (only when ``tracksMonmaps``).
    private(set) var monmaps: [UInt64: MonMap] = [:]
    /// The committed monmap of the highest version, if any was committed.
    private(set) var latestMonmap: (version: UInt64, map: MonMap)?

    init(tracksMonmaps: Bool = false) { self.tracksMonmaps = tracksMonmaps }

    /// Notes the commits `transaction` makes on `node`.
    mutating func observe(_ transaction: StoreTransaction, on node: String, at time: UInt64) {
        for operation in transaction.operations {
            guard case let .put(prefix, key, value) = operation, prefix == PaxosLog.prefix,
                  let version = UInt64(key) else { continue }
            if let known = values[version] {
                if known != Array(value) {
                    violations.append("agreement: mon.\(node) committed a different value at v\(version) (t=\(Simulation.format(time)))")
                }
            } else {
                values[version] = Array(value)
                if tracksMonmaps, let decoded = try? StoreTransaction(decoding: Array(value)),
                   let map = MonmapService().committedMap(in: decoded) {
                    monmaps[version] = map
                    if version > latestMonmap?.version ?? 0 { latestMonmap = (version, map) }
                }
            }
        }
    }

    /// Whether the value committed at `version` applies `write` (a PUT or DELETE of the key-value service).
    func contains(version: UInt64, key: String, value: [UInt8]?) -> Bool {
        guard let bytes = values[version], let transaction = try? StoreTransaction(decoding: bytes) else { return false }
        return transaction.operations.contains { operation in
            switch operation {
            case let .put(prefix, k, v): prefix == KeyValueService.prefix && k == key && value.map { Array(v) == $0 } ?? false
            case let .erase(prefix, k): prefix == KeyValueService.prefix && k == key && value == nil
            case .erasePrefix: false
            }
        }
    }
}
