/// The receiving side's window of unacknowledged chunks for one stream, grown while the round
/// trips show the path is not full and shrunk when chunks start to queue — TCP Vegas's rule, with
/// chunks for packets.
///
/// A fixed window of `w` chunks of `c` bytes moves at most `w·c / RTT`: 8 MiB at 50 ms is 168 MB/s,
/// short of a 210 MB/s link. The requester announces its window in every CHUNK_REPLY
/// (PROTOCOL.md §8, "Window"), so the window can follow the path instead.
///
/// **Measuring.** Once a round, the acknowledgement that releases chunk `n + w` (the ack of `n`,
/// carrying window `w`) is marked with the time it left; when chunk `n + w` arrives, the round trip
/// sample is the time between. The least sample of the stream is its base: the round trip with
/// nothing queued. `w · (1 − base / sample)` is how many chunks the round trip says are queued
/// somewhere — at a bottleneck link, in the provider's read, in this side's inbox while it applies.
///
/// **Deciding**, once per sample, except in the round after a change (its sample carries the
/// burst the change let out, which would read as a queue; Vegas, too, decides every other round):
/// - fewer than ``queuedLow`` queued: the path has room. In slow start (until the first round that
///   finds a queue) the window doubles; after, it grows by one.
/// - more than ``queuedHigh`` queued: the window shrinks by one.
/// - otherwise it stays.
///
/// It never leaves `initial…ceiling`, so a window is never smaller than a fixed one would be, and
/// memory stays bounded by `ceiling` chunks. When `ceiling == initial` the window is fixed.
///
/// A provider that ignores the announced window (a version-2 provider predating it) keeps the
/// window of START_CHUNKS; the samples then show growth buying nothing and the window drifts back
/// to `initial`, which is what that provider sends anyway.
public struct ChunkWindow: Sendable, Hashable {
    /// The window each stream starts with, and the least it goes to.
    public let initial: Int
    /// The most it grows to.
    public let ceiling: Int
    /// The window now: what the next acknowledgement announces.
    public private(set) var size: Int
    /// The least round trip seen in this stream.
    public private(set) var baseRoundTrip: Duration?
    /// Whether no round has found a queue yet (the window doubles each round until one does).
    public private(set) var slowStart = true
    /// The marked chunk and when the acknowledgement that released it left.
    var probe: Probe?
    /// Whether the window just changed: the next round only measures.
    var settling = false

    struct Probe: Sendable, Hashable {
        var chunk: UInt64
        var sentAt: Duration
    }

    /// Below this many chunks queued, the window grows.
    public static let queuedLow = 1.0
    /// Above this many, it shrinks.
    public static let queuedHigh = 3.0

    /// A window of `initial` chunks that may grow to `ceiling` (at least `initial`; both at least 1).
    public init(initial: Int, ceiling: Int) {
        self.initial = max(1, initial)
        self.ceiling = max(self.initial, ceiling)
        size = self.initial
    }

    /// Whether the window can change at all.
    public var isAdaptive: Bool { ceiling > initial }

    /// An acknowledgement of `sequence` leaves at `now`: returns the window it announces.
    ///
    /// With no round being measured, it marks chunk `sequence + size`, the one this
    /// acknowledgement lets the provider send.
    public mutating func acknowledging(_ sequence: UInt64, now: Duration) -> Int {
        if isAdaptive && probe == nil { probe = Probe(chunk: sequence + UInt64(size), sentAt: now) }
        return size
    }

    /// Chunk `sequence` was accepted at `now`: closes the round if it is (or passes) the marked one.
    public mutating func received(_ sequence: UInt64, now: Duration) {
        guard let marked = probe, sequence >= marked.chunk else { return }
        probe = nil
        let sample = now - marked.sentAt
        guard sample > .zero else { return }
        let base = min(baseRoundTrip ?? sample, sample)
        baseRoundTrip = base
        // The round after a change carries its burst (a doubling sends `size` chunks back to back):
        // its sample would read the burst as a queue. Vegas decides every other round for this.
        guard !settling else {
            settling = false
            return
        }
        let before = size
        let queued = Double(size) * (1 - base / sample)
        if queued < Self.queuedLow {
            size = slowStart ? min(ceiling, size * 2) : min(ceiling, size + 1)
        } else {
            slowStart = false
            if queued > Self.queuedHigh { size = max(initial, size - 1) }
        }
        settling = size != before
    }
}
