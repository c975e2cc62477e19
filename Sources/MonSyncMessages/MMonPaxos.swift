public import MonSyncCore

/// A Paxos message (Ceph's `MMonPaxos`, message type 66).
///
/// Recovery: the leader sends ``Op/collect`` with a new proposal number; each
/// peon answers ``Op/last`` with its bounds, the highest number it promised,
/// the versions the leader lacks and any accepted-but-uncommitted value.
/// Replication: ``Op/begin`` carries one value for `last_committed + 1`,
/// ``Op/accept`` accepts it, ``Op/commit`` carries committed versions (one
/// after a round; several when the leader shares what a peon lacks).
/// ``Op/lease`` extends the peons' read lease, ``Op/leaseAck`` confirms it.
///
/// Version-1 payload: `op` u32, `epoch` u32 (election epoch), `first_committed`
/// u64, `last_committed` u64, `pn` u64, `uncommitted_pn` u64, `lease_ms` u64,
/// `values` (u32 count, then per value `version` u64 and a blob holding an
/// encoded store transaction), versions strictly ascending.
public struct MMonPaxos: WireMessage, Hashable, CustomStringConvertible {
    public static let messageType = MessageType(66)
    public static let headVersion: UInt8 = 1
    public static let name = "mon_paxos"

    /// Ceph's values: `OP_COLLECT` 1, `OP_LAST` 2, `OP_BEGIN` 3, `OP_ACCEPT` 4,
    /// `OP_COMMIT` 5, `OP_LEASE` 6, `OP_LEASE_ACK` 7.
    public enum Op: UInt32, Sendable, CaseIterable, CustomStringConvertible {
        /// A new leader's first round: it claims a proposal number and asks each peon what it has.
        case collect = 1
        /// A peon's answer to COLLECT: its Paxos bounds and any value it accepted but did not see committed.
        case last = 2
        /// The leader proposes the next version's value.
        case begin = 3
        /// A peon accepted the proposed value (and persisted it).
        case accept = 4
        /// The leader committed the value: every member applies it.
        case commit = 5
        /// The leader extends the read lease, naming its bounds.
        case lease = 6
        /// A peon acknowledges the lease; a lease a majority acked lets the leader serve reads.
        case leaseAck = 7
        public var description: String {
            switch self {
            case .collect: "collect"
            case .last: "last"
            case .begin: "begin"
            case .accept: "accept"
            case .commit: "commit"
            case .lease: "lease"
            case .leaseAck: "lease_ack"
            }
        }
    }

    /// One Paxos version and its value (an encoded store transaction).
    public struct Value: Sendable, Hashable {
        /// The Paxos version.
        public var version: UInt64
        /// The encoded store transaction (a slice of the received frame: not copied).
        public var bytes: ArraySlice<UInt8>
        /// A value for `version`.
        public init<C: Collection<UInt8>>(version: UInt64, bytes: C) {
            self.version = version
            self.bytes = ArraySlice(bytes)
        }
    }

    /// What the message does.
    public var op: Op
    /// The election epoch the sender is in; messages of another epoch are stale.
    public var epoch: UInt32
    /// The sender's first retained version.
    public var firstCommitted: UInt64
    /// The sender's last committed version (BEGIN: the version the value follows).
    public var lastCommitted: UInt64
    /// COLLECT/BEGIN: the proposal number; LAST: the highest number the peon promised; ACCEPT: the number accepted.
    public var pn: UInt64
    /// LAST: the proposal number of the uncommitted value at `last_committed + 1`, 0 if none.
    public var uncommittedPN: UInt64
    /// LEASE: how long the lease lasts from its receipt, in milliseconds.
    public var leaseMilliseconds: UInt64
    /// Versions and their values, ascending.
    public var values: [Value]

    /// A Paxos message; fields an op does not use stay zero or empty.
    public init(op: Op, epoch: UInt32, firstCommitted: UInt64, lastCommitted: UInt64, pn: UInt64 = 0,
                uncommittedPN: UInt64 = 0, leaseMilliseconds: UInt64 = 0, values: [Value] = []) {
        self.op = op
        self.epoch = epoch
        self.firstCommitted = firstCommitted
        self.lastCommitted = lastCommitted
        self.pn = pn
        self.uncommittedPN = uncommittedPN
        self.leaseMilliseconds = leaseMilliseconds
        self.values = values
    }

    public var routingKey: UInt32? { op.rawValue }

    /// The longest lease accepted: one day.
    public static let maximumLeaseMilliseconds: UInt64 = 86_400_000

    /// The value for `version`, if carried.
    public func value(for version: UInt64) -> Value? { values.first { $0.version == version } }

    public func validate() throws(DecodeError) {
        try WireDecoder.checkBounds(first: firstCommitted, last: lastCommitted)
        if pn > WireDecoder.maximumPaxosNumber { throw .invalidField(name: "pn (out of range)", value: pn) }
        if uncommittedPN > WireDecoder.maximumPaxosNumber { throw .invalidField(name: "uncommitted_pn (out of range)", value: uncommittedPN) }
        if leaseMilliseconds > Self.maximumLeaseMilliseconds { throw .invalidField(name: "lease_ms (over a day)", value: leaseMilliseconds) }
        var previous: UInt64 = 0
        for value in values {
            if value.version <= previous { throw .invalidField(name: "values (versions not strictly ascending)", value: value.version) }
            previous = value.version
        }
        switch op {
        case .collect, .accept, .lease, .leaseAck:
            if !values.isEmpty { throw .invalidField(name: "values (\(op) carries none)", value: UInt64(values.count)) }
        case .begin:
            guard values.count == 1, values[0].version == lastCommitted + 1 else {
                throw .invalidField(name: "values (begin carries exactly last_committed + 1)", value: UInt64(values.count))
            }
        case .last:
            if let last = values.last?.version, last > lastCommitted + 1 {
                throw .invalidField(name: "values (beyond last_committed + 1)", value: last)
            }
            if uncommittedPN != 0 && values.last?.version != lastCommitted + 1 {
                throw .invalidField(name: "uncommitted_pn (without an uncommitted value)", value: uncommittedPN)
            }
        case .commit:
            if let last = values.last?.version, last > lastCommitted {
                throw .invalidField(name: "values (commit beyond last_committed)", value: last)
            }
        }
        if op == .lease && leaseMilliseconds == 0 { throw .invalidField(name: "lease_ms", value: 0) }
        if op != .lease && leaseMilliseconds != 0 { throw .invalidField(name: "lease_ms (only LEASE carries one)", value: leaseMilliseconds) }
        if op != .last && uncommittedPN != 0 { throw .invalidField(name: "uncommitted_pn (only LAST carries one)", value: uncommittedPN) }
    }

    /// The fixed fields plus every value: a recovering peon may receive megabytes at once.
    public var payloadSizeHint: Int { 64 + values.reduce(0) { $0 + 12 + $1.bytes.count } }

    public func encodePayload(into e: inout WireEncoder) {
        e.encode(op.rawValue)
        e.encode(epoch)
        e.encode(firstCommitted)
        e.encode(lastCommitted)
        e.encode(pn)
        e.encode(uncommittedPN)
        e.encode(leaseMilliseconds)
        e.encodeList(values) { e, value in
            e.encode(value.version)
            e.encodeBlob(value.bytes)
        }
    }

    public init(decodingPayload d: inout WireDecoder, version: UInt8) throws(DecodeError) {
        let rawOp = try d.decodeUInt32()
        guard let op = Op(rawValue: rawOp) else { throw .invalidField(name: "op", value: UInt64(rawOp)) }
        self.op = op
        epoch = try d.decodeUInt32()
        firstCommitted = try d.decodeUInt64()
        lastCommitted = try d.decodeUInt64()
        pn = try d.decodeUInt64()
        uncommittedPN = try d.decodeUInt64()
        leaseMilliseconds = try d.decodeUInt64()
        values = try d.decodeList(field: "values", minimumElementSize: 12) { (d: inout WireDecoder) throws(DecodeError) -> Value in
            let version = try d.decodeUInt64()
            if version == 0 { throw .invalidField(name: "value version", value: 0) }
            return Value(version: version, bytes: try d.decodeBlob(field: "value"))
        }
        try validate()
    }

    public var description: String {
        var text = "MMonPaxos(\(op) e\(epoch) fc \(firstCommitted) lc \(lastCommitted)"
        if pn != 0 { text += " pn \(pn)" }
        if uncommittedPN != 0 { text += " uncommitted_pn \(uncommittedPN)" }
        if leaseMilliseconds != 0 { text += " lease \(leaseMilliseconds) ms" }
        if !values.isEmpty { text += " values \(values.first!.version)...\(values.last!.version)" }
        return text + ")"
    }
}
