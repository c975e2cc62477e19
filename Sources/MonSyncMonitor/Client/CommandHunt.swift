import MonSyncCore
import MonSyncMessages

/// Where one client command goes and when it is settled: the pure decision logic of
/// ``MonitorClient/submit(_:timeout:attemptTimeout:)``, kept apart from time and the transport so
/// every path can be tested step by step.
///
/// An *attempt* sends copies of the command (same client id, same tid) to one or more monitors
/// and waits up to the attempt timeout. The first attempt goes to the monitor that answered the
/// client last, if there is one; otherwise, and whenever an attempt to that monitor alone fails,
/// the client *hunts*: it sends the command to every monitor it knows at once, so one monitor that
/// is down or never answers costs nothing (Ceph's MonClient hunts several monitors in parallel).
/// The first definite answer wins, from whichever copy. NOT_LEADER sends a copy straight to the
/// leader it names. When every copy of a hunt came back without a definite answer (NO_QUORUM,
/// RETRY, NOT_LEADER), the next hunt waits for the retry pause, so a cluster without a quorum is
/// not flooded.
///
/// Sending one write to several monitors at once is safe: a peon forwards its copy to the leader,
/// and the leader applies a (client id, tid) at most once. A copy that finds the write queued or
/// being proposed rides on it (both get the answer); one that arrives after the commit is found
/// in the applied-tid record and answered OK without being applied again; and a leader rechecks
/// that record when it builds a proposal, for copies it queued while it recovered. That is the
/// same guarantee a resend after a timeout has always relied on.
///
/// For writes it also counts the copies that may still be applied (``mayHaveApplied``): a copy
/// is settled "not applied" only when its send failed (it never left this process) or it was
/// answered NO_QUORUM or NOT_LEADER (refused before any proposal). Every copy draws at most one
/// reply, a peon's forwarded copy included (the leader answers it, the peon does not), so the
/// count is exact; when it is zero at the deadline the write was certainly not applied.
struct CommandHunt {
    /// What the client must do next.
    enum Action: Hashable {
        /// Send a copy of the command to this monitor, for this attempt.
        case send(TransportAddress, attempt: Int)
        /// Start the timer of this attempt (the attempt timeout).
        case armAttemptTimer(attempt: Int)
        /// Wait the retry pause, then call ``CommandHunt/pauseOver(_:)`` with this attempt.
        case armPause(attempt: Int)
    }

    /// Whether the command is a write (its copies' fate matters).
    let isWrite: Bool
    /// The monitors a hunt sends to, in order (the monmap's, then any leader learned from a reply).
    private(set) var monitors: [TransportAddress]
    /// The current attempt, from 1.
    private(set) var attempt = 0
    /// The last reply that did not settle the command.
    private(set) var lastReply: MMonCommandReply?
    /// Copies sent in all (for logs and tests).
    private(set) var copiesSent = 0

    private let preferred: TransportAddress?
    /// Copies of the current attempt not answered yet.
    private var awaiting = 0
    private var targetsThisAttempt: Set<TransportAddress> = []
    private var isHunt = false
    private var pausing = false
    /// Write copies that may still be applied.
    private var inDoubt = 0

    /// - Parameters:
    ///   - monitors: every monitor the client knows.
    ///   - preferred: the monitor that answered the client last, tried alone first.
    init(isWrite: Bool, monitors: [TransportAddress], preferred: TransportAddress?) {
        self.isWrite = isWrite
        var known = monitors
        if let preferred, !known.contains(preferred) { known.append(preferred) }
        self.monitors = known
        self.preferred = preferred
    }

    /// Whether a copy of this write may have been applied (or may still be): any copy not yet settled
    /// as refused or undelivered. Always `false` for a read.
    var mayHaveApplied: Bool { isWrite && inDoubt > 0 }

    /// The first attempt: the preferred monitor alone, or a hunt of every monitor.
    mutating func start() -> [Action] {
        if let preferred { return begin(targets: [preferred], hunt: false) }
        return begin(targets: monitors, hunt: true)
    }

    /// What a reply leads to.
    enum Step: Hashable {
        /// The reply settles the command (a definite result).
        case settled(MMonCommandReply)
        /// Not settled: do these next (possibly nothing, while other copies are out).
        case next([Action])
    }

    /// A reply arrived: settled when its result is definite, else what to do next.
    mutating func replied(_ reply: MMonCommandReply) -> Step {
        if reply.result.isDefinite { return .settled(reply) }
        lastReply = reply
        // A reply answers one copy; replies to an earlier attempt's copies may still come in, so the
        // count of the current attempt never goes below zero.
        awaiting = max(0, awaiting - 1)
        switch reply.result {
        case .notLeader, .noQuorum:
            // Refused before any proposal: this copy will never be applied.
            inDoubt = max(0, inDoubt - 1)
        case .retry:
            // The leader lost its quorum with the write in flight (it may still commit), or it cannot read yet.
            break
        case .ok, .notFound, .invalid, .failed, .tooLarge:
            break
        }
        // Go straight to the leader the reply names, once per attempt.
        if let named = reply.leader, let leader = try? TransportAddress(named.address), !targetsThisAttempt.contains(leader) {
            if !monitors.contains(leader) { monitors.append(leader) }
            return .next(add(leader))
        }
        return .next(afterAnswer())
    }

    /// The send of a copy to `peer` failed: that copy never left this process.
    mutating func sendFailed(to peer: TransportAddress, attempt failedAttempt: Int) -> [Action] {
        inDoubt = max(0, inDoubt - 1)
        guard failedAttempt == attempt else { return [] }
        awaiting = max(0, awaiting - 1)
        return afterAnswer()
    }

    /// The timer of attempt `expired` fired: if it is still the current one, hunt every monitor now.
    mutating func attemptExpired(_ expired: Int) -> [Action] {
        guard expired == attempt, !pausing else { return [] }
        return begin(targets: monitors, hunt: true)
    }

    /// The retry pause after attempt `paused` is over: hunt every monitor.
    mutating func pauseOver(_ paused: Int) -> [Action] {
        guard paused == attempt, pausing else { return [] }
        return begin(targets: monitors, hunt: true)
    }

    private mutating func begin(targets: [TransportAddress], hunt: Bool) -> [Action] {
        attempt += 1
        isHunt = hunt
        pausing = false
        awaiting = 0
        targetsThisAttempt = []
        var actions: [Action] = []
        for target in targets { actions += add(target) }
        actions.append(.armAttemptTimer(attempt: attempt))
        return actions
    }

    /// Sends one more copy within the current attempt.
    private mutating func add(_ target: TransportAddress) -> [Action] {
        targetsThisAttempt.insert(target)
        awaiting += 1
        inDoubt += 1
        copiesSent += 1
        pausing = false
        return [.send(target, attempt: attempt)]
    }

    /// Every copy of the attempt answered without settling it: after the preferred monitor alone,
    /// hunt the others at once; after a hunt, pause before the next (the cluster has no quorum or
    /// no leader ready, and asking again at once would only flood it).
    private mutating func afterAnswer() -> [Action] {
        guard awaiting == 0, !pausing else { return [] }
        if !isHunt { return begin(targets: monitors, hunt: true) }
        pausing = true
        return [.armPause(attempt: attempt)]
    }
}
