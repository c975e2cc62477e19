import MonSyncCore

/// Faults the loopback network injects into messages, drawn from its seeded generator.
///
/// Each probability applies independently to every message on a link. Delays
/// keep a link's order (the whole link waits, as on a slow wire); reordering
/// swaps a message with the next one on the same link; a partition (see
/// ``LoopbackNetwork/partition(_:from:)``) makes sends fail and reports the
/// peers down.
public struct LoopbackFaults: Sendable, Hashable {
    /// Probability that a message is lost.
    public var drop: Double
    /// Probability that a message is delivered twice.
    public var duplicate: Double
    /// Probability that a message is overtaken by the next message on its link.
    public var reorder: Double
    /// Probability that a message (and so its link) is held back by a delay from ``delayRange``.
    public var delay: Double
    /// How long a delayed message waits, chosen uniformly.
    public var delayRange: ClosedRange<Duration>
    /// How long a message chosen for reordering waits for a successor before it is delivered anyway.
    public var reorderHold: Duration

    /// Faults with these probabilities, each from 0 (never) to 1 (every message).
    ///
    /// - Parameters:
    ///   - drop: the chance a message is lost.
    ///   - duplicate: the chance a message is delivered twice.
    ///   - reorder: the chance a message is held back so a later one overtakes it.
    ///   - delay: the chance a message is delivered late.
    ///   - delayRange: how late a delayed message is.
    ///   - reorderHold: how long a held-back message waits for a successor.
    public init(drop: Double = 0, duplicate: Double = 0, reorder: Double = 0, delay: Double = 0,
                delayRange: ClosedRange<Duration> = .milliseconds(1)...(.milliseconds(50)),
                reorderHold: Duration = .milliseconds(20)) {
        self.drop = drop
        self.duplicate = duplicate
        self.reorder = reorder
        self.delay = delay
        self.delayRange = delayRange
        self.reorderHold = reorderHold
    }

    /// No faults: every message is delivered once, in order, at once.
    public static let none = LoopbackFaults()

    /// Whether any fault can happen.
    public var isEmpty: Bool { drop == 0 && duplicate == 0 && reorder == 0 && delay == 0 }
}

/// What the network did to one message (decided under the network's lock, from its seed).
struct FaultDecision {
    var drop = false
    var duplicate = false
    var reorder = false
    var delay: Duration?

    static func draw(_ faults: LoopbackFaults, using rng: inout SeededRandomNumberGenerator) -> FaultDecision {
        var decision = FaultDecision()
        guard !faults.isEmpty else { return decision }
        decision.drop = rng.chance(faults.drop)
        decision.duplicate = rng.chance(faults.duplicate)
        decision.reorder = rng.chance(faults.reorder)
        if rng.chance(faults.delay) {
            let low = faults.delayRange.lowerBound.nanoseconds, high = faults.delayRange.upperBound.nanoseconds
            decision.delay = .nanoseconds(Int64.random(in: low...high, using: &rng))
        }
        return decision
    }
}

extension Duration {
    /// Whole nanoseconds (sub-nanosecond parts dropped).
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
