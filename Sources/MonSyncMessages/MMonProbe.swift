public import MonSyncCore

/// A probe and its reply (Ceph's `MMonProbe`, message type 64).
///
/// A monitor that bootstraps sends ``Op/probe`` to every peer of its monmap;
/// each answers ``Op/reply`` with what the prober needs to decide how to join:
/// the peer's quorum and leader (empty and `nil` outside a quorum) and its
/// Paxos bounds. Version-1 payload, in order: `op` u32, `name` string, `rank`
/// i32, `state` u8, `election_epoch` u32, `monmap_epoch` u32, `quorum`
/// (u32 count, i32 ranks), `leader` i32 (-1 for none), `first_committed` u64,
/// `last_committed` u64. Version 2 appends `monmap` (u32 count, then the
/// entities as in `MMonCommandReply`): the sender's monmap when it answers a
/// monitor with an older monmap epoch, empty otherwise; a version-1 message
/// reads as an empty one.
public struct MMonProbe: WireMessage, Hashable, CustomStringConvertible {
    public static let messageType = MessageType(64)
    public static let headVersion: UInt8 = 2
    public static let name = "mon_probe"

    /// Probe or reply (Ceph's `OP_PROBE` = 1, `OP_REPLY` = 2).
    public enum Op: UInt32, Sendable, CaseIterable, CustomStringConvertible {
        /// A bootstrapping monitor asks what the peer knows.
        case probe = 1
        /// The peer's answer: its quorum, leader and Paxos bounds.
        case reply = 2
        public var description: String { self == .probe ? "probe" : "reply" }
    }

    /// Probe or reply.
    public var op: Op
    /// The sender's name in the monmap.
    public var senderName: String
    /// The sender's rank.
    public var senderRank: Int32
    /// The sender's state.
    public var state: MonitorState
    /// The sender's election epoch.
    public var electionEpoch: UInt32
    /// The epoch of the sender's monmap.
    public var monmapEpoch: UInt32
    /// The sender's quorum (ranks, ascending); empty when it is not in one.
    public var quorum: [Int32]
    /// The sender's leader, when it is in a quorum.
    public var leader: Int32?
    /// The oldest Paxos version the sender retains.
    public var firstCommitted: UInt64
    /// The newest Paxos version the sender committed.
    public var lastCommitted: UInt64
    /// Version 2: the sender's monmap (every member's rank, name and address) when the message
    /// answers a monitor whose ``monmapEpoch`` was older than the sender's, so a monitor started
    /// with a stale monmap, or one that was down while the membership changed, learns the current
    /// one; empty otherwise (and in a version-1 message).
    public var monmap: [MonitorEntity]

    /// A probe (or reply) describing the sender.
    public init(op: Op, senderName: String, senderRank: Int32, state: MonitorState, electionEpoch: UInt32,
                monmapEpoch: UInt32, quorum: [Int32] = [], leader: Int32? = nil,
                firstCommitted: UInt64, lastCommitted: UInt64, monmap: [MonitorEntity] = []) {
        self.op = op
        self.senderName = senderName
        self.senderRank = senderRank
        self.state = state
        self.electionEpoch = electionEpoch
        self.monmapEpoch = monmapEpoch
        self.quorum = quorum.sorted()
        self.leader = leader
        self.firstCommitted = firstCommitted
        self.lastCommitted = lastCommitted
        self.monmap = monmap
    }

    public var routingKey: UInt32? { op.rawValue }

    public func validate() throws(DecodeError) {
        if electionEpoch > UInt32.max - 4 { throw .invalidField(name: "election_epoch (out of range)", value: UInt64(electionEpoch)) }
        if senderRank < 0 { throw .invalidField(name: "rank", value: UInt64(UInt32(bitPattern: senderRank))) }
        if let leader, !quorum.contains(leader) { throw .invalidField(name: "leader (not in quorum)", value: UInt64(leader)) }
        if leader == nil && !quorum.isEmpty { throw .invalidField(name: "leader (missing for a quorum)", value: 0) }
        try WireDecoder.checkBounds(first: firstCommitted, last: lastCommitted)
        if monmap.count > MonitorEntity.maximumMembers {
            throw .lengthOverLimit(what: "monmap", length: UInt64(monmap.count), limit: MonitorEntity.maximumMembers)
        }
    }

    public func encodePayload(into e: inout WireEncoder) {
        e.encode(op.rawValue)
        e.encode(senderName)
        e.encode(senderRank)
        e.encode(state.rawValue)
        e.encode(electionEpoch)
        e.encode(monmapEpoch)
        e.encodeRanks(quorum)
        e.encode(leader ?? -1)
        e.encode(firstCommitted)
        e.encode(lastCommitted)
        e.encodeList(monmap) { $1.encode(into: &$0) }
    }

    public init(decodingPayload d: inout WireDecoder, version: UInt8) throws(DecodeError) {
        let rawOp = try d.decodeUInt32()
        guard let op = Op(rawValue: rawOp) else { throw .invalidField(name: "op", value: UInt64(rawOp)) }
        self.op = op
        senderName = try d.decodeString(field: "name")
        senderRank = try d.decodeRank(field: "rank")
        let rawState = try d.decodeUInt8()
        guard let state = MonitorState(rawValue: rawState) else { throw .invalidField(name: "state", value: UInt64(rawState)) }
        self.state = state
        electionEpoch = try d.decodeUInt32()
        monmapEpoch = try d.decodeUInt32()
        quorum = try d.decodeRanks(field: "quorum")
        leader = try d.decodeOptionalRank(field: "leader")
        (firstCommitted, lastCommitted) = try d.decodePaxosBounds()
        if version >= 2 {
            monmap = try d.decodeList(field: "monmap", minimumElementSize: MonitorEntity.minimumEncodedSize) {
                (e: inout WireDecoder) throws(DecodeError) -> MonitorEntity in try MonitorEntity(from: &e)
            }
        } else {
            monmap = []
        }
        try validate()
    }

    public var description: String {
        "MMonProbe(\(op) from mon.\(senderName)(\(senderRank)) \(state) e\(electionEpoch) quorum \(quorum) leader \(leader.map(String.init) ?? "-") fc \(firstCommitted) lc \(lastCommitted))"
    }
}
