public import MonSyncCore

/// The store sync's part of `status`: the requester's current or last sync, and the leader's and
/// provider's counters since the monitor started.
///
/// The monitor builds it from its sync roles when it answers a status command
/// (``MonitorStatus/sync``).
///
/// Encoded as a versioned struct (v1, compat 1), every integer little-endian:
///
/// | field | type |
/// |---|---|
/// | `has_requester` | u8 (0 or 1); when 1, the requester fields follow |
/// | requester: `phase` | u8 (0 idle, 1 requesting, 2 streaming, 3 swapping, 4 done, 5 failed) |
/// | `session` | u64 |
/// | `provider` | string (the provider's transport address, empty before one is chosen) |
/// | `bytes`, `keys`, `chunks`, `estimated_bytes` | u64 each |
/// | `elapsed_ms` | u64 |
/// | `rate` | u64 (bytes per second so far) |
/// | `eta_ms` | i64 (−1 when unknown) |
/// | `provider_switches`, `retries`, `aborts`, `stale_messages`, `corrupt_chunks`, `heartbeat_timeouts`, `finish_reply_timeouts` | u32 each |
/// | leader: `syncs_running` | u32 |
/// | `trim_held` | u8 (0 or 1) |
/// | `granted`, `retry_answers`, `trim_timeouts`, `explicit_aborts` | u64 each |
/// | provider: `sessions_active` | u32 |
/// | `served`, `completed`, `chunks_sent`, `bytes_sent`, `refusals` | u64 each |
public struct MonitorSyncStatus: Sendable, Hashable {
    static let structVersion: UInt8 = 1

    /// Where a requester's sync stands.
    public enum Phase: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// No sync since the monitor started.
        case idle = 0
        /// Asking the leader for a grant.
        case requesting = 1
        /// Receiving and staging chunks from a provider.
        case streaming = 2
        /// The last chunk arrived: rolling forward and swapping the copy in.
        case swapping = 3
        /// The copy is live; the monitor rejoins through an election.
        case done = 4
        /// The sync gave up; the live data is untouched and the monitor probes again.
        case failed = 5

        public var description: String {
            switch self {
            case .idle: "idle"
            case .requesting: "requesting"
            case .streaming: "streaming"
            case .swapping: "swapping"
            case .done: "done"
            case .failed: "failed"
            }
        }
    }

    /// The requester's current (or last) sync.
    public struct Requester: Sendable, Hashable {
        /// Where the sync stands.
        public var phase: Phase
        /// The sync's session id (0 before the first START).
        public var session: UInt64
        /// The provider streaming now (or last), as a transport address.
        public var provider: String
        /// Bytes of store entries staged so far.
        public var bytes: UInt64
        /// Keys staged so far.
        public var keys: UInt64
        /// Chunks staged so far.
        public var chunks: UInt64
        /// The provider's estimate of the snapshot's size (0 when unknown).
        public var estimatedBytes: UInt64
        /// Time since the sync began.
        public var elapsedMilliseconds: UInt64
        /// Bytes per second so far.
        public var rate: UInt64
        /// Estimated time left, when the provider gave a size.
        public var etaMilliseconds: UInt64?
        /// How often the requester moved to another provider (a silent, refusing or older one).
        public var providerSwitches: UInt32
        /// RETRY answers received (from the leader or a busy provider).
        public var retries: UInt32
        /// ABORT messages received.
        public var aborts: UInt32
        /// Messages of another session, or repeated, that were dropped.
        public var staleMessages: UInt32
        /// Chunks refused for a CRC mismatch or an undecodable transaction.
        public var corruptChunks: UInt32
        /// Heartbeats the leader did not answer in time.
        public var heartbeatTimeouts: UInt32
        /// FINISH messages the leader did not answer in time.
        public var finishReplyTimeouts: UInt32

        /// A requester section; every counter defaults to zero.
        public init(phase: Phase, session: UInt64 = 0, provider: String = "", bytes: UInt64 = 0, keys: UInt64 = 0,
                    chunks: UInt64 = 0, estimatedBytes: UInt64 = 0, elapsedMilliseconds: UInt64 = 0, rate: UInt64 = 0,
                    etaMilliseconds: UInt64? = nil, providerSwitches: UInt32 = 0, retries: UInt32 = 0, aborts: UInt32 = 0,
                    staleMessages: UInt32 = 0, corruptChunks: UInt32 = 0, heartbeatTimeouts: UInt32 = 0,
                    finishReplyTimeouts: UInt32 = 0) {
            self.phase = phase
            self.session = session
            self.provider = provider
            self.bytes = bytes
            self.keys = keys
            self.chunks = chunks
            self.estimatedBytes = estimatedBytes
            self.elapsedMilliseconds = elapsedMilliseconds
            self.rate = rate
            self.etaMilliseconds = etaMilliseconds
            self.providerSwitches = providerSwitches
            self.retries = retries
            self.aborts = aborts
            self.staleMessages = staleMessages
            self.corruptChunks = corruptChunks
            self.heartbeatTimeouts = heartbeatTimeouts
            self.finishReplyTimeouts = finishReplyTimeouts
        }
    }

    /// The leader role's counters.
    public struct Leader: Sendable, Hashable {
        /// Syncs holding trim now.
        public var syncsRunning: UInt32
        /// Whether trim is held.
        public var trimHeld: Bool
        /// START answered with a grant.
        public var granted: UInt64
        /// START answered with RETRY (trim due, or not the leader).
        public var retryAnswers: UInt64
        /// Requesters dropped for missing heartbeats.
        public var trimTimeouts: UInt64
        /// Syncs aborted explicitly (`trim_required`).
        public var explicitAborts: UInt64

        /// A leader section; every counter defaults to zero.
        public init(syncsRunning: UInt32 = 0, trimHeld: Bool = false, granted: UInt64 = 0, retryAnswers: UInt64 = 0,
                    trimTimeouts: UInt64 = 0, explicitAborts: UInt64 = 0) {
            self.syncsRunning = syncsRunning
            self.trimHeld = trimHeld
            self.granted = granted
            self.retryAnswers = retryAnswers
            self.trimTimeouts = trimTimeouts
            self.explicitAborts = explicitAborts
        }

        /// Whether nothing ever happened.
        public var isEmpty: Bool { self == Leader() }
    }

    /// The provider role's counters.
    public struct Provider: Sendable, Hashable {
        /// Sessions being served now.
        public var sessionsActive: UInt32
        /// Sessions started.
        public var served: UInt64
        /// Sessions whose last chunk was acknowledged.
        public var completed: UInt64
        /// Chunks sent, over every session.
        public var chunksSent: UInt64
        /// Bytes of chunks sent, over every session.
        public var bytesSent: UInt64
        /// START_CHUNKS refused (busy or cannot serve).
        public var refusals: UInt64

        /// A provider section; every counter defaults to zero.
        public init(sessionsActive: UInt32 = 0, served: UInt64 = 0, completed: UInt64 = 0, chunksSent: UInt64 = 0,
                    bytesSent: UInt64 = 0, refusals: UInt64 = 0) {
            self.sessionsActive = sessionsActive
            self.served = served
            self.completed = completed
            self.chunksSent = chunksSent
            self.bytesSent = bytesSent
            self.refusals = refusals
        }

        /// Whether nothing ever happened.
        public var isEmpty: Bool { self == Provider() }
    }

    /// The requester's current or last sync; `nil` when this monitor has not synced since it started.
    public var requester: Requester?
    /// The leader role's counters (all zero on a monitor that never led a sync).
    public var leader: Leader
    /// The provider role's counters (all zero on a monitor that never served one).
    public var provider: Provider

    /// A status section from the three roles' parts.
    public init(requester: Requester? = nil, leader: Leader = Leader(), provider: Provider = Provider()) {
        self.requester = requester
        self.leader = leader
        self.provider = provider
    }

    /// Whether there is nothing to show (no sync requested, served or led).
    public var isEmpty: Bool { requester == nil && leader.isEmpty && provider.isEmpty }

    /// Writes the section as a versioned struct.
    public func encode(into encoder: inout WireEncoder) {
        encoder.encodeVersionedStruct(version: Self.structVersion, compat: 1) { e in
            e.encode(requester != nil)
            if let r = requester {
                e.encode(r.phase.rawValue)
                e.encode(r.session)
                e.encode(r.provider)
                e.encode(r.bytes)
                e.encode(r.keys)
                e.encode(r.chunks)
                e.encode(r.estimatedBytes)
                e.encode(r.elapsedMilliseconds)
                e.encode(r.rate)
                e.encode(r.etaMilliseconds.map { Int64(clamping: $0) } ?? -1)
                for counter in [r.providerSwitches, r.retries, r.aborts, r.staleMessages, r.corruptChunks,
                                r.heartbeatTimeouts, r.finishReplyTimeouts] {
                    e.encode(counter)
                }
            }
            e.encode(leader.syncsRunning)
            e.encode(leader.trimHeld)
            for counter in [leader.granted, leader.retryAnswers, leader.trimTimeouts, leader.explicitAborts] { e.encode(counter) }
            e.encode(provider.sessionsActive)
            for counter in [provider.served, provider.completed, provider.chunksSent, provider.bytesSent, provider.refusals] {
                e.encode(counter)
            }
        }
    }

    /// Reads a section written by ``encode(into:)``, validating every field.
    public init(from decoder: inout WireDecoder) throws(DecodeError) {
        self = try decoder.decodeVersionedStruct("sync_status", supportedVersion: Self.structVersion) {
            (d: inout WireDecoder, _: UInt8) throws(DecodeError) -> MonitorSyncStatus in
            var status = MonitorSyncStatus()
            if try d.decodeBool(field: "sync_status.has_requester") {
                let rawPhase = try d.decodeUInt8()
                guard let phase = Phase(rawValue: rawPhase) else {
                    throw .invalidField(name: "sync_status.phase", value: UInt64(rawPhase))
                }
                var r = Requester(phase: phase)
                r.session = try d.decodeUInt64()
                r.provider = try d.decodeString(field: "sync_status.provider")
                r.bytes = try d.decodeUInt64()
                r.keys = try d.decodeUInt64()
                r.chunks = try d.decodeUInt64()
                r.estimatedBytes = try d.decodeUInt64()
                r.elapsedMilliseconds = try d.decodeUInt64()
                r.rate = try d.decodeUInt64()
                let eta = try d.decodeInt64()
                if eta < -1 { throw .invalidField(name: "sync_status.eta_ms", value: UInt64(bitPattern: eta)) }
                r.etaMilliseconds = eta == -1 ? nil : UInt64(eta)
                r.providerSwitches = try d.decodeUInt32()
                r.retries = try d.decodeUInt32()
                r.aborts = try d.decodeUInt32()
                r.staleMessages = try d.decodeUInt32()
                r.corruptChunks = try d.decodeUInt32()
                r.heartbeatTimeouts = try d.decodeUInt32()
                r.finishReplyTimeouts = try d.decodeUInt32()
                status.requester = r
            }
            status.leader.syncsRunning = try d.decodeUInt32()
            status.leader.trimHeld = try d.decodeBool(field: "sync_status.trim_held")
            status.leader.granted = try d.decodeUInt64()
            status.leader.retryAnswers = try d.decodeUInt64()
            status.leader.trimTimeouts = try d.decodeUInt64()
            status.leader.explicitAborts = try d.decodeUInt64()
            status.provider.sessionsActive = try d.decodeUInt32()
            status.provider.served = try d.decodeUInt64()
            status.provider.completed = try d.decodeUInt64()
            status.provider.chunksSent = try d.decodeUInt64()
            status.provider.bytesSent = try d.decodeUInt64()
            status.provider.refusals = try d.decodeUInt64()
            return status
        }
    }
}
