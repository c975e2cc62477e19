public import MonSyncCore

/// An election message (Ceph's `MMonElection`, message type 65).
///
/// Epochs follow Ceph's Elector: an odd epoch is an election in progress, an
/// even one a stable quorum. ``Op/propose`` and ``Op/ack`` carry odd epochs,
/// ``Op/victory`` an even one with the new quorum; ``Op/nak`` refuses a
/// proposer that is not a member of the receiver's monmap (or has another
/// monmap epoch). Version-1 payload: `op` u32, `epoch` u32, `rank` i32
/// (the sender), `monmap_epoch` u32, `quorum` (u32 count, i32 ranks; only
/// with VICTORY), `last_committed` u64 (the sender's, for logs). Version 2 appends `features` u64:
/// the ``MonitorFeatures`` the sender supports (none, when a version-1 sender wrote the message).
public struct MMonElection: WireMessage, Hashable, CustomStringConvertible {
    public static let messageType = MessageType(65)
    public static let headVersion: UInt8 = 2
    public static let name = "mon_election"

    /// Ceph's values: `OP_PROPOSE` 1, `OP_ACK` 2, `OP_NAK` 3, `OP_VICTORY` 4.
    public enum Op: UInt32, Sendable, CaseIterable, CustomStringConvertible {
        /// The sender stands for leader in the election of this (odd) epoch.
        case propose = 1
        /// The sender defers to the proposer: it would have it lead.
        case ack = 2
        /// The sender refuses the proposer: not a member of its monmap, or another monmap epoch.
        case nak = 3
        /// The sender won: it leads the quorum it names, in this (even) epoch.
        case victory = 4
        public var description: String {
            switch self {
            case .propose: "propose"
            case .ack: "ack"
            case .nak: "nak"
            case .victory: "victory"
            }
        }
    }

    /// What the message does.
    public var op: Op
    /// The election epoch.
    public var epoch: UInt32
    /// The sender's rank.
    public var senderRank: Int32
    /// The sender's monmap epoch.
    public var monmapEpoch: UInt32
    /// VICTORY: the new quorum (ranks, ascending).
    public var quorum: [Int32]
    /// The sender's last committed Paxos version.
    public var lastCommitted: UInt64
    /// The features the sender's build supports (version 2; none from a version-1 sender).
    public var features: MonitorFeatures

    /// An election message; `quorum` only with VICTORY.
    public init(op: Op, epoch: UInt32, senderRank: Int32, monmapEpoch: UInt32, quorum: [Int32] = [], lastCommitted: UInt64 = 0,
                features: MonitorFeatures = []) {
        self.op = op
        self.epoch = epoch
        self.senderRank = senderRank
        self.monmapEpoch = monmapEpoch
        self.quorum = quorum.sorted()
        self.lastCommitted = lastCommitted
        self.features = features
    }

    public var routingKey: UInt32? { op.rawValue }

    public func validate() throws(DecodeError) {
        if senderRank < 0 { throw .invalidField(name: "rank", value: UInt64(UInt32(bitPattern: senderRank))) }
        // Epochs advance by one or two at a time; this bound keeps `epoch + 2` from overflowing.
        if epoch > UInt32.max - 4 { throw .invalidField(name: "epoch (out of range)", value: UInt64(epoch)) }
        switch op {
        case .propose, .ack:
            if epoch % 2 == 0 { throw .invalidField(name: "epoch (\(op) needs an odd epoch)", value: UInt64(epoch)) }
            if !quorum.isEmpty { throw .invalidField(name: "quorum (only VICTORY carries one)", value: UInt64(quorum.count)) }
        case .victory:
            if epoch % 2 != 0 || epoch == 0 { throw .invalidField(name: "epoch (victory needs an even epoch)", value: UInt64(epoch)) }
            if !quorum.contains(senderRank) { throw .invalidField(name: "quorum (victory without its sender)", value: UInt64(senderRank)) }
        case .nak:
            if !quorum.isEmpty { throw .invalidField(name: "quorum (only VICTORY carries one)", value: UInt64(quorum.count)) }
        }
    }

    public func encodePayload(into e: inout WireEncoder) {
        e.encode(op.rawValue)
        e.encode(epoch)
        e.encode(senderRank)
        e.encode(monmapEpoch)
        e.encodeRanks(quorum)
        e.encode(lastCommitted)
        e.encode(features.rawValue)
    }

    public init(decodingPayload d: inout WireDecoder, version: UInt8) throws(DecodeError) {
        let rawOp = try d.decodeUInt32()
        guard let op = Op(rawValue: rawOp) else { throw .invalidField(name: "op", value: UInt64(rawOp)) }
        self.op = op
        epoch = try d.decodeUInt32()
        senderRank = try d.decodeRank(field: "rank")
        monmapEpoch = try d.decodeUInt32()
        quorum = try d.decodeRanks(field: "quorum")
        lastCommitted = try d.decodeUInt64()
        features = version >= 2 ? MonitorFeatures(rawValue: try d.decodeUInt64()) : []
        try validate()
    }

    public var description: String {
        "MMonElection(\(op) e\(epoch) from \(senderRank)\(quorum.isEmpty ? "" : " quorum \(quorum)")\(features.isEmpty ? "" : " features \(features)"))"
    }
}
