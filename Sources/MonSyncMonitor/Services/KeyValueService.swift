public import MonSyncStore

/// A tiny replicated key-value service on its own prefix, whose writes are Paxos proposals.
///
/// Values live at `kv/<key>`. Beside each write the leader records the
/// writing client's highest applied tid at `kv_clients/<client id in hex>`, in
/// the same Paxos version, so a write resent after a leader change (same
/// client, same tid) is recognised as applied and not applied twice.
public struct KeyValueService: MonitorService {
    /// The prefix of the values.
    public static let prefix = "kv"
    /// The prefix of the per-client applied-tid records.
    public static let clientsPrefix = "kv_clients"

    public init() {}

    public var name: String { "kv" }
    public var prefixes: [String] { [Self.prefix, Self.clientsPrefix] }

    /// Appends the effect of a write command (PUT or DELETE) and its applied-tid record to `transaction`.
    public func apply(_ command: MMonCommand, to transaction: inout StoreTransaction) {
        switch command.op {
        case .put: transaction.put(Self.prefix, command.key, command.value)
        case .delete: transaction.erase(Self.prefix, command.key)
        case .get, .list, .status: return
        }
        transaction.put(Self.clientsPrefix, Self.clientKey(command.clientID), uint64: command.tid)
    }

    /// The highest tid of `clientID` already committed (0 if none).
    public func appliedTid(clientID: UInt64, in store: any MonitorStore) throws(StoreError) -> UInt64 {
        try store.getUInt64(Self.clientsPrefix, Self.clientKey(clientID)) ?? 0
    }

    /// The value of `key`, or `nil`.
    public func get(_ key: String, in store: any MonitorStore) throws(StoreError) -> [UInt8]? {
        try store.get(Self.prefix, key)
    }

    /// The keys that start with `prefix`, ascending bytewise.
    public func list(prefix: String, in store: any MonitorStore) throws(StoreError) -> [String] {
        try store.snapshot(of: [Self.prefix]).allEntries().map(\.0.key).filter { $0.hasPrefix(prefix) }
    }

    static func clientKey(_ clientID: UInt64) -> String {
        let hex = String(clientID, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
