/// A client operation as the simulation recorded it: the checker's view and the version a write was committed in.
struct KVOperationRecord {
    var operation: KVOperation
    /// The version an acknowledged write was committed in (0 when the reply did not say: "already applied").
    var version: UInt64 = 0

    var isWrite: Bool {
        switch operation.kind {
        case .put, .delete: true
        case .get: false
        }
    }

    var outcome: KVOperation.Outcome { operation.outcome }
    var completed: UInt64? { operation.completed }
}
