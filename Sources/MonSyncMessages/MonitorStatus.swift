public import MonSyncCore

/// What `status` reports: a monitor's state, rank, quorum, leader and Paxos bounds.
///
/// Encoded as a versioned struct (v3, compat 1): `state` u8, `rank` i32, `name` string,
/// `election_epoch` u32, `quorum` (u32 count, i32 ranks), `leader` i32 (-1 for
/// none), `first_committed` u64, `last_committed` u64; version 2 appends `sync`
/// (``MonitorSyncStatus``); version 3 appends `vitals` (``MonitorVitals``). A status is written
/// at the lowest version that holds what it carries: without vitals and sync section as version 1,
/// byte for byte what a v1 peer writes; with a sync section only as version 2, as a v2 peer
/// writes; with vitals as version 3, where the sync section is always present (all zero, no
/// requester, when there is none: it then reads back as `nil`). An older decoder skips what
/// it does not know by the struct's length.
public struct MonitorStatus: Sendable, Hashable, CustomStringConvertible {
    static let structVersion: UInt8 = 3

    /// The monitor's state.
    public var state: MonitorState
    /// Its rank (-1 in ``none``).
    public var rank: Int32
    /// Its name.
    public var name: String
    /// Its election epoch (odd while electing).
    public var electionEpoch: UInt32
    /// The quorum's ranks, ascending; empty outside a quorum.
    public var quorum: [Int32]
    /// The leader's rank, in a quorum.
    public var leader: Int32?
    /// The first retained Paxos version.
    public var firstCommitted: UInt64
    /// The last committed Paxos version.
    public var lastCommitted: UInt64
    /// The store sync's section (status command replies only; `nil` when there is nothing to show
    /// or the replier predates it).
    public var sync: MonitorSyncStatus?
    /// The monitor's store usage and sync liveness (status command replies only; `nil` when the
    /// replier predates them).
    public var vitals: MonitorVitals?

    /// A status.
    public init(state: MonitorState, rank: Int32, name: String, electionEpoch: UInt32, quorum: [Int32],
                leader: Int32?, firstCommitted: UInt64, lastCommitted: UInt64, sync: MonitorSyncStatus? = nil,
                vitals: MonitorVitals? = nil) {
        self.state = state
        self.rank = rank
        self.name = name
        self.electionEpoch = electionEpoch
        self.quorum = quorum
        self.leader = leader
        self.firstCommitted = firstCommitted
        self.lastCommitted = lastCommitted
        self.sync = sync
        self.vitals = vitals
    }

    /// The status of nobody (in replies that carry no status).
    public static let none = MonitorStatus(state: .probing, rank: -1, name: "", electionEpoch: 0, quorum: [],
                                           leader: nil, firstCommitted: 0, lastCommitted: 0)

    /// Writes the status as a versioned struct.
    public func encode(into encoder: inout WireEncoder) {
        let version: UInt8 = vitals != nil ? 3 : sync != nil ? 2 : 1
        encoder.encodeVersionedStruct(version: version, compat: 1) { e in
            e.encode(state.rawValue)
            e.encode(rank)
            e.encode(name)
            e.encode(electionEpoch)
            e.encodeRanks(quorum)
            e.encode(leader ?? -1)
            e.encode(firstCommitted)
            e.encode(lastCommitted)
            if version >= 2 { (sync ?? MonitorSyncStatus()).encode(into: &e) }
            vitals?.encode(into: &e)
        }
    }

    /// Reads a status written by ``encode(into:)``, validating every field.
    public init(from decoder: inout WireDecoder) throws(DecodeError) {
        self = try decoder.decodeVersionedStruct("status", supportedVersion: Self.structVersion) {
            (d: inout WireDecoder, version: UInt8) throws(DecodeError) -> MonitorStatus in
            let rawState = try d.decodeUInt8()
            guard let state = MonitorState(rawValue: rawState) else { throw .invalidField(name: "status.state", value: UInt64(rawState)) }
            let rank = try d.decodeInt32()
            if rank < -1 { throw .invalidField(name: "status.rank", value: UInt64(UInt32(bitPattern: rank))) }
            let name = try d.decodeString(field: "status.name")
            let epoch = try d.decodeUInt32()
            let quorum = try d.decodeRanks(field: "status.quorum")
            let leader = try d.decodeOptionalRank(field: "status.leader")
            let (first, last) = try d.decodePaxosBounds()
            var sync = version >= 2 ? try MonitorSyncStatus(from: &d) : nil
            // In v3 the section is positional, so "none" is written as an empty one.
            if version >= 3, sync?.isEmpty == true { sync = nil }
            let vitals = version >= 3 ? try MonitorVitals(from: &d) : nil
            return MonitorStatus(state: state, rank: rank, name: name, electionEpoch: epoch, quorum: quorum,
                                 leader: leader, firstCommitted: first, lastCommitted: last, sync: sync, vitals: vitals)
        }
    }

    public var description: String {
        "mon.\(name)(\(rank)) \(state) e\(electionEpoch) quorum \(quorum) leader \(leader.map(String.init) ?? "-") fc \(firstCommitted) lc \(lastCommitted)"
    }
}
