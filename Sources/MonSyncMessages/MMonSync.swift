public import MonSyncCore

/// The monitor store synchronization message (Ceph's `MMonSync`, message type 69).
///
/// Version 1 carries exactly the fields of Ceph v0.59–v0.66, in their order:
/// `op` u32, `flags` u8, `version` u64, `chunk_bl` blob, `last_key` (two
/// strings), `crc` u32, `reply_to` entity. Version 2 appends what the hardened
/// protocol needs: `session` u64, `sequence` u64, `requester_version` u64,
/// `first_committed` u64, `window` u32, `reason` u32, `estimated_bytes` u64 and
/// `quorum` (a list of entities). Version 3 adds no field: it lets START_CHUNKS carry
/// ``Flags/backup`` (a non-member streaming a snapshot for `monsync snapshot save`). PROTOCOL.md
/// gives the bytes.
///
/// Decoding validates every field: an unknown op, an unknown flag bit or a flag
/// that the op does not allow is a `DecodeError`, never a crash.
public struct MMonSync: WireMessage, Hashable, CustomStringConvertible {
    public static let messageType = MessageType.mmonSync
    public static let headVersion: UInt8 = 3
    /// Version-1 readers can read our messages (they ignore the appended fields; a version-2
    /// reader refuses only the BACKUP flag, which only a backup client sends).
    public static let compatVersion: UInt8 = 1
    public static let name = "mon_sync"

    /// What the message asks or answers (values as in Ceph v0.59).
    public enum Op: UInt32, CaseIterable, Sendable, CustomStringConvertible {
        /// requester → leader (possibly through one peon): ask for the green light; the leader holds trim.
        case start = 1
        /// leader → requester: go ahead (provider in `reply_to`), or RETRY later.
        case startReply = 2
        /// requester → leader: still syncing, keep holding trim.
        case heartbeat = 3
        /// leader → requester: the leader is alive and holds trim.
        case heartbeatReply = 4
        /// requester → leader: done; the leader may release its trim hold.
        case finish = 5
        /// requester → provider: start or resume streaming after `last_key`.
        case startChunks = 6
        /// provider → requester: one chunk of the snapshot.
        case chunk = 7
        /// requester → provider: cumulative acknowledgement of chunks up to `sequence`.
        case chunkReply = 8
        /// leader → requester: FINISH acknowledged.
        case finishReply = 9
        /// any → any: end the session with the sender, with a `reason`.
        case abort = 10

        public var description: String {
            switch self {
            case .start: "start"
            case .startReply: "start_reply"
            case .heartbeat: "heartbeat"
            case .heartbeatReply: "heartbeat_reply"
            case .finish: "finish"
            case .startChunks: "start_chunks"
            case .chunk: "chunk"
            case .chunkReply: "chunk_reply"
            case .finishReply: "finish_reply"
            case .abort: "abort"
            }
        }

        /// The flags this op may carry.
        public var allowedFlags: Flags {
            switch self {
            case .start: [.replyTo]
            case .startReply: [.retry, .replyTo]
            case .chunk: [.last, .crc]
            case .chunkReply: [.last]
            case .abort: [.retry]
            case .startChunks: [.backup]
            case .heartbeat, .heartbeatReply, .finish, .finishReply: []
            }
        }
    }

    /// Modifiers of an op (values as in Ceph v0.59).
    public struct Flags: OptionSet, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// CHUNK: the last chunk of the snapshot; CHUNK_REPLY: acknowledges the last chunk.
        public static let last = Flags(rawValue: 0x01)
        /// START_REPLY or ABORT: back off and try again later.
        public static let retry = Flags(rawValue: 0x02)
        /// CHUNK: `crc` holds the CRC32C of `chunk_bl` (always set by version-2 senders).
        public static let crc = Flags(rawValue: 0x04)
        /// START: reply to `reply_to`, not the sender; START_REPLY: `reply_to` is the provider.
        public static let replyTo = Flags(rawValue: 0x08)
        /// START_CHUNKS (version 3): the sender is a backup client, not a member syncing itself: it
        /// streams the snapshot into a file and never swaps it into a store or joins a quorum.
        public static let backup = Flags(rawValue: 0x10)

        /// Every flag this implementation knows.
        public static let known: Flags = [.last, .retry, .crc, .replyTo, .backup]
        /// The flags a payload of `version` may carry: ``backup`` only from version 3 on.
        public static func known(inVersion version: UInt8) -> Flags {
            version >= 3 ? known : known.subtracting(.backup)
        }

        public var description: String {
            var names: [String] = []
            if contains(.last) { names.append("last") }
            if contains(.retry) { names.append("retry") }
            if contains(.crc) { names.append("crc") }
            if contains(.replyTo) { names.append("reply_to") }
            if contains(.backup) { names.append("backup") }
            return "[" + names.joined(separator: ",") + "]"
        }
    }

    // MARK: version 1

    /// What the message asks or answers; decides which of the other fields are meaningful (PROTOCOL.md §3).
    public var op: Op
    /// The op's flags. ``Flags/replyTo`` is kept in step with ``replyTo`` when encoding.
    public var flags: Flags
    /// On the LAST chunk: the Paxos version (`last_committed`) of the provider's snapshot.
    public var version: UInt64
    /// CHUNK: an encoded store transaction (Ceph's `chunk_bl`). A slice: decoding does not copy it.
    public var chunk: ArraySlice<UInt8>
    /// CHUNK: the last key in the chunk; START_CHUNKS: resume strictly after this key.
    public var lastKey: SyncKey
    /// CHUNK with ``Flags/crc``: CRC32C of ``chunk``.
    public var crc: UInt32
    /// Where to reply (START forwarded by a peon) or whom to sync from (START_REPLY); `nil` when the flag is clear.
    public var replyTo: MonitorEntity?

    // MARK: version 2

    /// The requester's sync attempt; every message of one sync carries it. 0 means none.
    public var session: UInt64
    /// CHUNK: this chunk's number (1, 2, …); CHUNK_REPLY: every chunk up to this one is applied.
    public var sequence: UInt64
    /// START/START_CHUNKS: the requester's snapshot version so far (what the data it already holds is consistent with).
    public var requesterVersion: UInt64
    /// START_REPLY/HEARTBEAT_REPLY/CHUNK: the sender's `first_committed`.
    public var firstCommitted: UInt64
    /// START_CHUNKS: how many unacknowledged chunks the provider may have in flight.
    public var window: UInt32
    /// ABORT and refusals: why.
    public var reason: SyncAbortReason
    /// START_CHUNKS reply chunks: the provider's estimate of the snapshot's size in bytes (0 if unknown).
    public var estimatedBytes: UInt64
    /// START_REPLY: the quorum members the requester may fail over to.
    public var quorum: [MonitorEntity]

    /// A message of `op`; every field the op does not use keeps its zero default.
    ///
    /// ``Flags/replyTo`` follows ``replyTo`` when the message is encoded, so it needs no setting.
    public init(
        op: Op,
        flags: Flags = [],
        version: UInt64 = 0,
        chunk: ArraySlice<UInt8> = [],
        lastKey: SyncKey = .beginning,
        crc: UInt32 = 0,
        replyTo: MonitorEntity? = nil,
        session: UInt64 = 0,
        sequence: UInt64 = 0,
        requesterVersion: UInt64 = 0,
        firstCommitted: UInt64 = 0,
        window: UInt32 = 0,
        reason: SyncAbortReason = .none,
        estimatedBytes: UInt64 = 0,
        quorum: [MonitorEntity] = []
    ) {
        self.op = op
        self.flags = replyTo == nil ? flags.subtracting(.replyTo) : flags.union(.replyTo)
        self.version = version
        self.chunk = chunk
        self.lastKey = lastKey
        self.crc = crc
        self.replyTo = replyTo
        self.session = session
        self.sequence = sequence
        self.requesterVersion = requesterVersion
        self.firstCommitted = firstCommitted
        self.window = window
        self.reason = reason
        self.estimatedBytes = estimatedBytes
        self.quorum = quorum
    }

    public var routingKey: UInt32? { op.rawValue }

    /// The flags as written on the wire: ``Flags/replyTo`` set exactly when ``replyTo`` is present.
    public var wireFlags: Flags {
        replyTo == nil ? flags.subtracting(.replyTo) : flags.union(.replyTo)
    }

    /// Throws if the flags are not valid for the op. Encoding does not check; the dispatcher does before sending.
    public func validate() throws(DecodeError) {
        let flags = wireFlags
        if !op.allowedFlags.isSuperset(of: flags) { throw .invalidFlags(op: op.rawValue, flags: flags.rawValue) }
    }

    /// The fixed fields and keys, plus the chunk and the quorum list.
    public var payloadSizeHint: Int { 128 + chunk.count + lastKey.prefix.utf8.count + lastKey.key.utf8.count + quorum.count * 64 }

    public func encodePayload(into e: inout WireEncoder) {
        e.encode(op.rawValue)
        e.encode(wireFlags.rawValue)
        e.encode(version)
        e.encodeBlob(chunk)
        e.encode(lastKey.prefix)
        e.encode(lastKey.key)
        e.encode(crc)
        (replyTo ?? .none).encode(into: &e)
        // version 2
        e.encode(session)
        e.encode(sequence)
        e.encode(requesterVersion)
        e.encode(firstCommitted)
        e.encode(window)
        e.encode(reason.rawValue)
        e.encode(estimatedBytes)
        e.encodeList(quorum) { e, member in member.encode(into: &e) }
    }

    public init(decodingPayload d: inout WireDecoder, version payloadVersion: UInt8) throws(DecodeError) {
        let rawOp = try d.decodeUInt32()
        guard let op = Op(rawValue: rawOp) else { throw .invalidField(name: "op", value: UInt64(rawOp)) }
        let flags = Flags(rawValue: try d.decodeUInt8())
        if !Flags.known(inVersion: payloadVersion).isSuperset(of: flags) || !op.allowedFlags.isSuperset(of: flags) {
            throw .invalidFlags(op: rawOp, flags: flags.rawValue)
        }
        self.op = op
        self.flags = flags
        version = try d.decodeUInt64()
        chunk = try d.decodeBlob(field: "chunk_bl")
        lastKey = SyncKey(prefix: try d.decodeString(field: "last_key.prefix"),
                          key: try d.decodeString(field: "last_key.key"))
        crc = try d.decodeUInt32()
        let entity = try MonitorEntity(from: &d)
        if flags.contains(.replyTo) {
            if entity.address.isEmpty { throw .invalidField(name: "reply_to (empty with REPLY_TO set)", value: 0) }
            replyTo = entity
        } else {
            replyTo = nil
        }
        if payloadVersion >= 2 {
            session = try d.decodeUInt64()
            sequence = try d.decodeUInt64()
            requesterVersion = try d.decodeUInt64()
            firstCommitted = try d.decodeUInt64()
            window = try d.decodeUInt32()
            reason = SyncAbortReason(rawValue: try d.decodeUInt32())
            estimatedBytes = try d.decodeUInt64()
            quorum = try d.decodeList(field: "quorum", minimumElementSize: MonitorEntity.minimumEncodedSize) {
                (d: inout WireDecoder) throws(DecodeError) -> MonitorEntity in try MonitorEntity(from: &d)
            }
        } else {
            session = 0
            sequence = 0
            requesterVersion = 0
            firstCommitted = 0
            window = 0
            reason = .none
            estimatedBytes = 0
            quorum = []
        }
    }

    public var description: String {
        var parts = ["op: \(op)"]
        if !wireFlags.isEmpty { parts.append("flags: \(wireFlags)") }
        if session != 0 { parts.append("session: \(session)") }
        if sequence != 0 { parts.append("seq: \(sequence)") }
        if version != 0 { parts.append("version: \(version)") }
        if !chunk.isEmpty { parts.append("chunk: \(chunk.count) B") }
        if !lastKey.isBeginning { parts.append("last_key: \(lastKey)") }
        if let replyTo { parts.append("reply_to: \(replyTo)") }
        if reason != .none { parts.append("reason: \(reason)") }
        return "MMonSync(" + parts.joined(separator: ", ") + ")"
    }
}
