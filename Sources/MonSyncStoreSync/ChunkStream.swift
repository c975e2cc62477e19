public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// One stream of CHUNKs from one provider, as the receiving side sees it, with the checks every
/// chunk must pass before anything is done with it.
///
/// The store sync's requester and the backup client share it, so a chunk is accepted by the same
/// rules whoever streams it: it comes from the stream's provider, is the next in sequence (an
/// older number is stale, a newer one means one was lost), carries a CRC32C that matches, keeps
/// the snapshot version the stream's first chunk had, and decodes as a store transaction.
/// ``check(_:from:)`` only judges; ``advance(accepting:now:)`` records a chunk the caller accepted,
/// so a caller may refuse a valid chunk for reasons of its own (a requester's floor) first.
public struct ChunkStream: Sendable, Hashable {
    /// The provider this stream was asked of: chunks from anyone else are stale.
    public let provider: TransportAddress
    /// The first chunk number this stream asked for (START_CHUNKS `sequence`).
    public let first: UInt64
    /// The number the next chunk must carry.
    public private(set) var expected: UInt64
    /// The snapshot version of the stream's first chunk; every later chunk must carry it.
    public private(set) var version: UInt64?
    /// The window of unacknowledged chunks the receiver asks for: START_CHUNKS carries its
    /// ``ChunkWindow/initial``, each CHUNK_REPLY its ``ChunkWindow/size`` then. A new stream (a new
    /// provider, a new path) starts measuring afresh.
    public var window: ChunkWindow

    /// A stream asked of `provider`, numbered from `first`, with `window`.
    public init(provider: TransportAddress, first: UInt64, window: ChunkWindow) {
        self.provider = provider
        self.first = first
        self.window = window
        expected = first
    }

    /// What a chunk is worth to the stream.
    public enum Verdict: Sendable {
        /// Not this stream's, or already applied: drop it and count it.
        case stale
        /// A chunk between the expected one and this one never arrived: the stream cannot continue.
        case gap(expected: UInt64, received: UInt64)
        /// The CRC32C is missing or wrong, or the bytes are not a store transaction.
        case corrupt(String)
        /// The snapshot version differs from the stream's first chunk's (a provider that restarted).
        case versionChanged(from: UInt64, to: UInt64)
        /// The chunk passes every check; its transaction, validated.
        case valid(EncodedTransaction)
    }

    /// Judges `message`, a CHUNK from `sender`, without changing the stream.
    public func check(_ message: MMonSync, from sender: TransportAddress) -> Verdict {
        guard sender == provider, message.sequence >= expected else { return .stale }
        if message.sequence > expected { return .gap(expected: expected, received: message.sequence) }
        guard message.flags.contains(.crc), CRC32C.checksum(message.chunk) == message.crc else {
            return .corrupt("chunk \(message.sequence) failed its CRC32C")
        }
        if let version, version != message.version { return .versionChanged(from: version, to: message.version) }
        do { return .valid(try EncodedTransaction(message.chunk)) } catch {
            return .corrupt("chunk \(message.sequence) does not decode: \(error)")
        }
    }

    /// Records that the chunk ``check(_:from:)`` found valid was accepted: the next number is
    /// expected, and the stream's snapshot version is `version` from now on.
    public mutating func advance(accepting version: UInt64, now: Duration) {
        self.version = version
        window.received(expected, now: now)
        expected += 1
    }

    /// The CHUNK_REPLY that acknowledges every chunk up to `sequence`, leaving at `now`: it carries
    /// the window (and marks the round it starts, ``ChunkWindow/acknowledging(_:now:)``).
    public mutating func acknowledgement(of sequence: UInt64, session: UInt64, last: Bool, now: Duration) -> MMonSync {
        let window = window.acknowledging(sequence, now: now)
        return MMonSync(op: .chunkReply, flags: last ? .last : [], session: session, sequence: sequence,
                        window: UInt32(window))
    }
}
