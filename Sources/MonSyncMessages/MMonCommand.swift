public import MonSyncCore

/// A client command to a monitor (message type 50, Ceph's `MSG_MON_COMMAND`).
///
/// Ceph's command is a JSON string; ours is a small typed message for the
/// key-value service and status. Writes (``Op/put``, ``Op/delete``) become
/// Paxos proposals on the leader; a peon forwards a write to the leader once,
/// setting ``Flags/forwarded`` and ``replyTo`` (the client), and the leader
/// answers the client directly. Every write carries the client's ``clientID``
/// and a ``tid`` increasing per client, so a write resent after a leader
/// change is applied at most once.
///
/// Version-1 payload: `op` u32, `flags` u8, `client_id` u64, `tid` u64,
/// `key` string, `value` blob, `reply_to` string (empty unless forwarded).
/// Version 2 appends `after` string and `limit` u32 (LIST's paging; empty and
/// 0 for every other op); a v1 command reads as `after` empty, `limit` 0.
///
/// The size limits (``maximumKeyLength``, ``maximumValueLength``) and the
/// empty key are not decode errors: such a command decodes, and the monitor
/// answers it with ``CommandResult/tooLarge`` or ``CommandResult/invalid``
/// (``requestError``), so a client learns why instead of waiting for a reply
/// that never comes.
public struct MMonCommand: WireMessage, Hashable, CustomStringConvertible {
    public static let messageType = MessageType(50)
    public static let headVersion: UInt8 = 2
    public static let name = "mon_command"

    /// The largest key (and LIST prefix or `after` key) accepted, in bytes.
    public static let maximumKeyLength = 1024
    /// The largest PUT value accepted, in bytes: 16 MiB, a quarter of the 64 MiB frame limit, so
    /// the command and the Paxos value that carries it always fit in a frame.
    public static let maximumValueLength = 16 << 20

    /// What the client asks.
    public enum Op: UInt32, Sendable, CaseIterable, CustomStringConvertible {
        /// Set `key` to `value` (a write).
        case put = 1
        /// Read `key`.
        case get = 2
        /// Remove `key` (a write).
        case delete = 3
        /// List the keys that start with `key`.
        case list = 4
        /// Report the monitor's state, rank, quorum, leader and Paxos bounds.
        case status = 5
        /// Add the monitor named `key` at the address `value` (UTF-8) to the monmap: a membership
        /// change, committed through Paxos as the next monmap epoch.
        case monAdd = 6
        /// Remove the monitor named `key` from the monmap (a membership change).
        case monRemove = 7

        /// Whether the op changes the store (and so goes through Paxos on the leader).
        public var isWrite: Bool { self == .put || self == .delete || isMembershipChange }

        /// Whether the op changes the monmap (``monAdd``, ``monRemove``).
        public var isMembershipChange: Bool { self == .monAdd || self == .monRemove }

        public var description: String {
            switch self {
            case .put: "put"
            case .get: "get"
            case .delete: "delete"
            case .list: "list"
            case .status: "status"
            case .monAdd: "mon add"
            case .monRemove: "mon remove"
            }
        }
    }

    /// Modifiers of a command.
    public struct Flags: OptionSet, Sendable, Hashable {
        /// The flag bits.
        public var rawValue: UInt8
        /// Flags from their bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Forwarded by a peon; never forwarded again.
        public static let forwarded = Flags(rawValue: 0x01)
        /// Every flag this implementation knows.
        public static let known: Flags = [.forwarded]
    }

    /// What the client asks.
    public var op: Op
    /// Modifiers (``Flags/forwarded``).
    public var flags: Flags
    /// Identifies the client across resends (chosen at random by the client).
    public var clientID: UInt64
    /// The client's transaction id, increasing per client; the reply carries it back.
    public var tid: UInt64
    /// The key (PUT, GET, DELETE) or key prefix (LIST; empty lists all).
    public var key: String
    /// PUT: the value.
    public var value: ArraySlice<UInt8>
    /// With ``Flags/forwarded``: the client's address, where the reply goes.
    public var replyTo: String
    /// LIST: list only keys strictly after this one (bytewise); empty lists from the first key.
    public var after: String
    /// LIST: at most this many keys (the monitor caps it at its own page size); 0 asks for a full page.
    public var limit: UInt32

    /// A command; `value` only for PUT, `replyTo` only with ``Flags/forwarded``, `after` and `limit` only for LIST.
    public init<C: Collection<UInt8>>(op: Op, clientID: UInt64, tid: UInt64, key: String = "", value: C = [UInt8](),
                                      flags: Flags = [], replyTo: String = "", after: String = "", limit: UInt32 = 0) {
        self.op = op
        self.flags = flags
        self.clientID = clientID
        self.tid = tid
        self.key = key
        self.value = ArraySlice(value)
        self.replyTo = replyTo
        self.after = after
        self.limit = limit
    }

    public var routingKey: UInt32? { op.rawValue }

    /// Checks the message's structure: known flags, a value only on PUT, paging only on LIST, `reply_to`
    /// exactly on forwarded commands. The limits a monitor answers instead (``requestError``) are not checked here.
    public func validate() throws(DecodeError) {
        if !Flags.known.isSuperset(of: flags) { throw .invalidFlags(op: op.rawValue, flags: flags.rawValue) }
        if op != .put && op != .monAdd && !value.isEmpty {
            throw .invalidField(name: "value (only PUT and MON_ADD carry one)", value: UInt64(value.count))
        }
        if op != .list && (!after.isEmpty || limit != 0) {
            throw .invalidField(name: "after/limit (only LIST carries them)", value: UInt64(limit))
        }
        if flags.contains(.forwarded) {
            if replyTo.isEmpty { throw .invalidField(name: "reply_to (empty on a forwarded command)", value: 0) }
            if (try? TransportAddress(replyTo)) == nil { throw .invalidField(name: "reply_to (not an address)", value: UInt64(replyTo.utf8.count)) }
        } else if !replyTo.isEmpty {
            throw .invalidField(name: "reply_to (set without FORWARDED)", value: UInt64(replyTo.utf8.count))
        }
    }

    /// Why any monitor refuses this command whatever its state, as the result and message of its
    /// reply: ``CommandResult/invalid`` for a PUT, GET or DELETE without a key, a membership change
    /// without a monitor name or a MON_ADD whose value is not a transport address,
    /// ``CommandResult/tooLarge`` for a key, prefix or `after` over ``maximumKeyLength`` or a value
    /// over ``maximumValueLength``; `nil` when the command is within the limits.
    ///
    /// A client checks this before sending, so it reports the problem at once and sends nothing.
    public var requestError: (result: CommandResult, message: String)? {
        switch op {
        case .put, .get, .delete:
            if key.isEmpty { return (.invalid, "the key is empty; \(op) needs a key of 1 to \(Self.maximumKeyLength) bytes") }
        case .monAdd, .monRemove:
            if key.isEmpty { return (.invalid, "the monitor name is empty; \(op) needs a name of 1 to \(Self.maximumKeyLength) bytes") }
            if op == .monAdd {
                guard let text = String(validating: value, as: UTF8.self), (try? TransportAddress(text)) != nil else {
                    return (.invalid, "mon add needs the new monitor's address as a transport URL (tcp://HOST:PORT, ipc://PATH, …)")
                }
            }
        case .list, .status:
            break
        }
        if key.utf8.count > Self.maximumKeyLength {
            let what = op == .list ? "prefix" : "key"
            return (.tooLarge, "the \(what) is \(key.utf8.count) bytes, over the limit of \(Self.maximumKeyLength) bytes")
        }
        if after.utf8.count > Self.maximumKeyLength {
            return (.tooLarge, "the after key is \(after.utf8.count) bytes, over the limit of \(Self.maximumKeyLength) bytes")
        }
        if value.count > Self.maximumValueLength {
            return (.tooLarge, "the value is \(value.count) bytes, over the limit of \(Self.maximumValueLength) bytes")
        }
        return nil
    }

    /// The fixed fields, the key, the value and the paging key.
    public var payloadSizeHint: Int { 64 + key.utf8.count + value.count + after.utf8.count }

    public func encodePayload(into e: inout WireEncoder) {
        e.encode(op.rawValue)
        e.encode(flags.rawValue)
        e.encode(clientID)
        e.encode(tid)
        e.encode(key)
        e.encodeBlob(value)
        e.encode(replyTo)
        e.encode(after)
        e.encode(limit)
    }

    public init(decodingPayload d: inout WireDecoder, version: UInt8) throws(DecodeError) {
        let rawOp = try d.decodeUInt32()
        guard let op = Op(rawValue: rawOp) else { throw .invalidField(name: "op", value: UInt64(rawOp)) }
        self.op = op
        flags = Flags(rawValue: try d.decodeUInt8())
        clientID = try d.decodeUInt64()
        tid = try d.decodeUInt64()
        key = try d.decodeString(field: "key")
        value = try d.decodeBlob(field: "value")
        replyTo = try d.decodeString(field: "reply_to")
        if version >= 2 {
            after = try d.decodeString(field: "after")
            limit = try d.decodeUInt32()
        } else {
            after = ""
            limit = 0
        }
        try validate()
    }

    public var description: String {
        "MMonCommand(\(op) tid \(tid) client \(clientID)\(key.isEmpty ? "" : " key \(key)")\(after.isEmpty ? "" : " after \(after)")\(limit == 0 ? "" : " limit \(limit)")\(flags.contains(.forwarded) ? " forwarded for \(replyTo)" : ""))"
    }
}
