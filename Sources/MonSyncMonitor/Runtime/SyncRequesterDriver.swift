import Logging
import MonSyncCore
import MonSyncMessages
import MonSyncStore
import MonSyncStoreSync

/// Runs a monitor's ``SyncRequesterMachine``: feeds it the requester's messages and timers, and
/// executes its actions — sends through the monitor's non-blocking outbox, chunks into the
/// store's staging area, the swap.
///
/// It runs on a task of its own, beside the monitor's actor: staging a chunk (megabytes into
/// the store) never holds up the monitor's own messages, and the next chunk is decoded while
/// one is staged. Messages arrive through a bounded mailbox that exists only while a sync runs:
/// what anyone sends at other times is dropped and counted, not kept.
final class SyncRequesterDriver: Sendable {
    enum Event: Sendable {
        case message(MMonSync, TransportAddress)
        case timer(SyncRequesterMachine.Timer, UInt64)
    }

    private struct State {
        var mailbox: SyncMailbox<Event>?
        var progress: SyncProgress?
        /// When the running sync last advanced (a phase entered, a chunk applied); `nil` when none runs.
        var lastAdvance: Duration?
        var results: [Result<SyncOutcome, SyncFailure>] = []
        var droppedWhileIdle = 0
    }

    private let state = LockedState(State())
    private let store: any MonitorStore
    private let outbox: PeerOutbox
    private let timebase: Timebase
    private let logger: Logger
    private let progressLogInterval: Duration
    private let metrics: SyncRequesterMetrics

    init(store: any MonitorStore, outbox: PeerOutbox, timebase: Timebase, progressLogInterval: Duration,
         metrics: SyncRequesterMetrics, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.outbox = outbox
        self.timebase = timebase
        self.progressLogInterval = progressLogInterval
        self.logger = logger
    }

    /// The current or last sync's progress (`nil` before the first), its elapsed time up to now while it runs.
    var progress: SyncProgress? { state.withLock { $0.progress } }

    /// How long the running sync has gone without advancing (no phase entered, no chunk applied);
    /// `nil` when no sync runs. What a stalled sync looks like from outside (SYNC_STALLED).
    var idleTime: Duration? {
        guard let since = state.withLock({ $0.lastAdvance }) else { return nil }
        return max(.zero, timebase.now - since)
    }

    /// Every sync run so far, in order, with its result.
    var results: [Result<SyncOutcome, SyncFailure>] { state.withLock { $0.results } }

    /// Requester messages that arrived while no sync ran (dropped).
    var droppedWhileIdle: Int { state.withLock { $0.droppedWhileIdle } }

    /// Hands a requester's message to the running sync; without one it is dropped and counted.
    func post(_ message: MMonSync, from sender: TransportAddress) {
        let mailbox = state.withLock { state -> SyncMailbox<Event>? in
            if state.mailbox == nil { state.droppedWhileIdle += 1 }
            return state.mailbox
        }
        guard let mailbox else { return }
        if !mailbox.post(.message(message, sender)) {
            // Full: a window of chunks is the most a provider may have in flight; this is excess.
            state.withLock { $0.progress?.staleMessages += 1 }
        }
    }

    /// Runs `machine` to its end, off the caller's actor (`@concurrent`: staging never holds up the
    /// monitor); returns its result. Cancelling the calling task ends the sync
    /// (cancelled: the staging area is abandoned, live data untouched).
    @concurrent func run(_ machine: SyncRequesterMachine) async -> Result<SyncOutcome, SyncFailure> {
        var machine = machine
        let mailbox = SyncMailbox<Event>(capacity: max(64, machine.configuration.maxWindow * 4))
        state.withLock {
            $0.mailbox = mailbox
            $0.progress = machine.progress
            $0.lastAdvance = timebase.now
        }
        var timers = TimerTasks<SyncRequesterMachine.Timer>()
        defer {
            timers.cancelAll()
            mailbox.close()
            state.withLock {
                $0.mailbox = nil
                $0.lastAdvance = nil
            }
        }
        var lastProgressLog = timebase.now
        var input = SyncRequesterInput.begin
        while true {
            if let result = execute(machine.step(input, now: timebase.now), on: &machine, timers: &timers, mailbox: mailbox) {
                let previous = state.withLock { state -> SyncProgress? in
                    defer {
                        state.progress = machine.progress
                        state.results.append(result)
                    }
                    return state.progress
                }
                metrics.record(from: previous, to: machine.progress)
                metrics.record(result: result, elapsed: machine.progress.elapsed)
                return result
            }
            let now = timebase.now
            let previous = state.withLock { state -> SyncProgress? in
                let previous = state.progress
                if previous.map({ Self.advanced(from: $0, to: machine.progress) }) ?? true { state.lastAdvance = now }
                state.progress = machine.progress
                return previous
            }
            metrics.record(from: previous, to: machine.progress)
            if progressLogInterval > .zero, timebase.now - lastProgressLog >= progressLogInterval,
               machine.progress.phase == .streaming {
                lastProgressLog = timebase.now
                logger.info("sync progress", metadata: ["progress": "\(machine.progress)"])
            }
            switch await mailbox.next() {
            case let .message(message, sender)?: input = .message(message, from: sender)
            case let .timer(timer, generation)?: input = .timer(timer, generation: generation)
            case nil: input = .cancel
            }
        }
    }

    /// Whether the sync moved on between two readings: a new phase, a chunk or a key applied.
    static func advanced(from old: SyncProgress, to new: SyncProgress) -> Bool {
        old.phase != new.phase || old.chunks != new.chunks || old.keys != new.keys || old.session != new.session
    }

    /// Executes `actions` in order; a failed store action stops the list and is fed back.
    /// Returns the result once the machine finished.
    private func execute(_ actions: [SyncRequesterAction], on machine: inout SyncRequesterMachine,
                         timers: inout TimerTasks<SyncRequesterMachine.Timer>,
                         mailbox: SyncMailbox<Event>) -> Result<SyncOutcome, SyncFailure>? {
        var actions = actions[...]
        while let action = actions.popFirst() {
            do throws(StoreError) {
                if try action.perform(on: store) { continue }
                switch action {
                case let .send(message, destination):
                    outbox.send(message, to: destination)
                case let .arm(timer, deadline, generation):
                    timers.arm(timer, deadline: deadline, timebase: timebase) {
                        mailbox.post(.timer(timer, generation), force: true)
                    }
                case let .cancel(timer):
                    timers.cancel(timer)
                case let .finished(result):
                    return result
                case .beginStaging, .stage, .commitStaging, .abandonStaging:
                    break  // performed above
                }
            } catch {
                actions = machine.step(.storeFailed(error), now: timebase.now)[...]
            }
        }
        return nil
    }
}
