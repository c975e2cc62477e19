/// Why the admin endpoint cannot start.
public enum AdminServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `--admin-address` is not `HOST:PORT`.
    case invalidAddress(String, reason: String)
    /// The address could not be bound (in use, not local, no permission).
    case cannotListen(String, reason: String)

    public var description: String {
        switch self {
        case let .invalidAddress(text, reason): "invalid admin address \"\(text)\": \(reason)"
        case let .cannotListen(address, reason): "cannot serve the admin endpoint on \(address): \(reason)"
        }
    }
}
