public import MonSyncCore

/// The answer to an ``MMonCommand`` (message type 51, Ceph's `MSG_MON_COMMAND_ACK`).
///
/// Version-1 payload: `op` u32 (the command's), `tid` u64, `result` u32
/// (``CommandResult``), `message` string, `value` blob (GET), `keys` (u32
/// count, strings; LIST), `leader` entity (the leader when known, for
/// NOT_LEADER and redirects; rank -1 otherwise), `version` u64 (the Paxos
/// version a write was committed in), `status` (``MonitorStatus``).
/// Version 2 appends `more` u8 (LIST: 1 when keys after the last one returned
/// remain), `monmap_epoch` u32 and `monmap` (u32 count, entities; STATUS: the
/// replier's monmap, so a client names every monitor as the cluster does; 0 and
/// an empty list for every other op). A v1 reply reads as `more` set when a LIST
/// reply's message says it was truncated (what v1 monitors write), epoch 0 and
/// no members.
public struct MMonCommandReply: WireMessage, Hashable, CustomStringConvertible {
    public static let messageType = MessageType(51)
    public static let headVersion: UInt8 = 2
    public static let name = "mon_command_reply"

    /// The op of the command answered.
    public var op: MMonCommand.Op
    /// The tid of the command answered.
    public var tid: UInt64
    /// The outcome.
    public var result: CommandResult
    /// A human-readable explanation, for refusals.
    public var message: String
    /// GET: the value.
    public var value: ArraySlice<UInt8>
    /// LIST: the keys, ascending.
    public var keys: [String]
    /// The leader as the replier knows it, if any.
    public var leader: MonitorEntity?
    /// Writes: the Paxos version the write was committed in (0 when not known).
    public var version: UInt64
    /// The replier's status (always filled).
    public var status: MonitorStatus
    /// LIST: whether keys after the last one in ``keys`` remain (ask again with it as `after`).
    public var more: Bool
    /// STATUS: the epoch of the replier's monmap (0 in replies to other ops).
    public var monmapEpoch: UInt32
    /// STATUS: the replier's monmap, every member's rank, name and address (empty in replies to other ops).
    public var monmap: [MonitorEntity]

    /// A reply; `value` for GET, `keys` and `more` for LIST, `version` for committed writes, the monmap for STATUS.
    public init<C: Collection<UInt8>>(op: MMonCommand.Op, tid: UInt64, result: CommandResult, message: String = "",
                                      value: C = [UInt8](), keys: [String] = [], leader: MonitorEntity? = nil,
                                      version: UInt64 = 0, status: MonitorStatus = .none, more: Bool = false,
                                      monmapEpoch: UInt32 = 0, monmap: [MonitorEntity] = []) {
        self.op = op
        self.tid = tid
        self.result = result
        self.message = message
        self.value = ArraySlice(value)
        self.keys = keys
        self.leader = leader
        self.version = version
        self.status = status
        self.more = more
        self.monmapEpoch = monmapEpoch
        self.monmap = monmap
    }

    /// A monmap longer than the protocol allows is refused before it is sent.
    public func validate() throws(DecodeError) {
        if monmap.count > MonitorEntity.maximumMembers {
            throw .lengthOverLimit(what: "monmap", length: UInt64(monmap.count), limit: MonitorEntity.maximumMembers)
        }
    }

    public var routingKey: UInt32? { op.rawValue }

    public func encodePayload(into e: inout WireEncoder) {
        e.encode(op.rawValue)
        e.encode(tid)
        e.encode(result.rawValue)
        e.encode(message)
        e.encodeBlob(value)
        e.encodeList(keys) { $0.encode($1) }
        (leader ?? .none).encode(into: &e)
        e.encode(version)
        status.encode(into: &e)
        e.encode(more)
        e.encode(monmapEpoch)
        e.encodeList(monmap) { $1.encode(into: &$0) }
    }

    public init(decodingPayload d: inout WireDecoder, version payloadVersion: UInt8) throws(DecodeError) {
        let rawOp = try d.decodeUInt32()
        guard let op = MMonCommand.Op(rawValue: rawOp) else { throw .invalidField(name: "op", value: UInt64(rawOp)) }
        self.op = op
        tid = try d.decodeUInt64()
        let rawResult = try d.decodeUInt32()
        guard let result = CommandResult(rawValue: rawResult) else { throw .invalidField(name: "result", value: UInt64(rawResult)) }
        self.result = result
        message = try d.decodeString(field: "message")
        value = try d.decodeBlob(field: "value")
        keys = try d.decodeList(field: "keys", minimumElementSize: 4) { (d: inout WireDecoder) throws(DecodeError) -> String in
            try d.decodeString(field: "key")
        }
        let leader = try MonitorEntity(from: &d)
        self.leader = leader.rank < 0 && leader.address.isEmpty ? nil : leader
        version = try d.decodeUInt64()
        status = try MonitorStatus(from: &d)
        if payloadVersion >= 2 {
            more = try d.decodeBool(field: "more")
            monmapEpoch = try d.decodeUInt32()
            monmap = try d.decodeList(field: "monmap", minimumElementSize: MonitorEntity.minimumEncodedSize) {
                (d: inout WireDecoder) throws(DecodeError) -> MonitorEntity in try MonitorEntity(from: &d)
            }
            try validate()
        } else {
            // A v1 monitor cut LIST at its page size and said so only in the message.
            more = op == .list && result == .ok && message.hasPrefix("truncated")
            monmapEpoch = 0
            monmap = []
        }
    }

    public var description: String {
        "MMonCommandReply(\(op) tid \(tid) \(result)\(message.isEmpty ? "" : ": \(message)")\(more ? " (more)" : ""))"
    }
}
