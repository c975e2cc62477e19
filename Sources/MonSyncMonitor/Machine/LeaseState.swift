/// The leader's read lease, and the wait that keeps a new leader from acting inside an old one's.
///
/// Reads are served by the leader alone, and only while a majority of the monmap (itself
/// included) acked a lease round it sent within the last `lease` (shortened by the clock-rate
/// bound ``MonitorConfiguration/leaseClockSkew``). Such an ack comes from a monitor still in the
/// leader's election epoch; a monitor that helps elect someone else has left that epoch first.
/// So any new leader's victory — which needs a majority, hence one of those ackers — comes after
/// the round was sent; a new leader that waits `lease` after its victory before it acknowledges
/// anything (writes, reads) therefore acts only after the old leader's reads have ended. The
/// leader counts from when it *sent* the round, so message delays only make it safer.
///
/// A new leader whose quorum is the whole monmap skips the wait: every monitor, the old leader
/// included, left the old epoch to elect it.
struct LeaseState: Sendable {
    /// A lease round the leader sent: when, and who acked it (the leader itself included).
    struct Round: Sendable {
        var sentAt: Duration
        var acked: Set<Int32>
    }

    /// The number of the lease round last sent (its acks echo it in `pn`).
    var round: UInt64 = 0
    /// The rounds sent lately, by number: an ack may come after the next round was sent (a slow
    /// link), and still proves a promise from when its own round was sent.
    var rounds: [UInt64: Round] = [:]
    /// Who acked any round since the lease-ack timer was armed (the leader itself included): the
    /// liveness check, which any ack satisfies.
    var acked: Set<Int32> = []
    /// Reads may be served until then (the leader's clock).
    var readableUntil: Duration?
    /// A new leader acknowledges nothing before then (the old leader's lease may still run).
    var actsFrom: Duration = .zero
    /// Peon: the lease the leader last extended runs until then (only the
    /// ``MonitorMachine/Mutations/peonReadsUnderLease`` mutation reads from it).
    var peonLeaseUntil: Duration?

    /// How many recent rounds are remembered.
    static let roundsKept: UInt64 = 8

    /// Forgets the leader's side.
    mutating func reset() {
        rounds = [:]
        acked = []
        readableUntil = nil
        actsFrom = .zero
        peonLeaseUntil = nil
    }
}
