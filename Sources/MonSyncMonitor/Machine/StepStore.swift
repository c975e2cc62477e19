import MonSyncCore
import MonSyncStore

/// The store as a ``MonitorMachine`` sees it during one step: the shell's store, plus the
/// transactions the step has decided to persist but the shell has not yet written.
///
/// A machine never writes: it returns ``MonitorAction/persist(_:)`` actions, which the shell
/// executes in order after the step. Yet within one step a decision may depend on a write the
/// same step made (a commit, then the applied-tid check of the next proposal; a commit, then
/// sharing that version with a peon). Reads go through this overlay so they see those
/// writes; ``endStep()`` forgets them once the shell has them.
final class StepStore: MonitorStore {
    let base: any MonitorStore
    private let pending = LockedState<[StoreTransaction]>([])

    init(base: any MonitorStore) { self.base = base }

    /// Records `transaction` as written, for the reads of the rest of the step.
    func stage(pending transaction: StoreTransaction) {
        pending.withLock { $0.append(transaction) }
    }

    /// Forgets the step's writes: the shell persists them before the next step.
    func endStep() { pending.withLock { $0.removeAll() } }

    func get(_ prefix: String, _ key: String) throws(StoreError) -> [UInt8]? {
        let overlaid = pending.withLock { $0.overlaidValue(prefix: prefix, key: key) }
        if let overlaid { return overlaid }
        return try base.get(prefix, key)
    }

    func exists(_ prefix: String, _ key: String) throws(StoreError) -> Bool { try get(prefix, key) != nil }

    /// Writes go through ``MonitorAction/persist(_:)``, never here.
    func apply(_ transaction: StoreTransaction) throws(StoreError) {
        throw .invalidArgument("a monitor machine does not write; it returns persist actions")
    }

    /// The shell's store: range reads (LIST) are answered in steps that wrote nothing before them.
    func snapshot(of prefixes: [String]) throws(StoreError) -> any StoreSnapshot { try base.snapshot(of: prefixes) }

    func beginStaging(targets: [String]) throws(StoreError) -> SyncMarker {
        throw .invalidArgument("a monitor machine does not stage")
    }
    func stage(_ chunk: StoreTransaction) throws(StoreError) { throw .invalidArgument("a monitor machine does not stage") }
    func commitStaging(applying transaction: StoreTransaction) throws(StoreError) {
        throw .invalidArgument("a monitor machine does not stage")
    }
    func abandonStaging() throws(StoreError) { throw .invalidArgument("a monitor machine does not stage") }
}
