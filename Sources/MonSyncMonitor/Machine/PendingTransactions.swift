import MonSyncStore

extension Array where Element == StoreTransaction {
    /// What these transactions, applied in order, leave at `(prefix, key)`: `.some(value)` for a
    /// put, `.some(nil)` for an erase, `nil` when none of them touches the key (read the store then).
    /// The overlay of writes decided but not yet written, for ``StepStore`` and `DeferredWrites`.
    func overlaidValue(prefix: String, key: String) -> [UInt8]?? {
        for transaction in reversed() {
            for operation in transaction.operations.reversed() {
                switch operation {
                case let .put(p, k, value) where p == prefix && k == key: return .some([UInt8](value))
                case let .erase(p, k) where p == prefix && k == key: return .some(nil)
                case let .erasePrefix(p) where p == prefix: return .some(nil)
                default: continue
                }
            }
        }
        return nil
    }
}
