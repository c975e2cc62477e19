/// Why a service could not be registered.
public enum ServiceRegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The service owns no store prefix: a service must own at least one.
    case noPrefixes(service: String)
    /// The prefix is empty or contains a NUL byte, so the store cannot hold it.
    case invalidPrefix(String, service: String)
    /// The prefix is reserved (`mon_sync`, `monitor`): the store and the monitor keep their own state there.
    case reservedPrefix(String, service: String)
    /// Another registered service (`owner`) owns the prefix already.
    case prefixTaken(String, owner: String, service: String)

    public var description: String {
        switch self {
        case let .noPrefixes(service): "service \(service) registers no prefix"
        case let .invalidPrefix(prefix, service): "service \(service): invalid prefix \(prefix.debugDescription)"
        case let .reservedPrefix(prefix, service): "service \(service): prefix \(prefix) is reserved for local bookkeeping"
        case let .prefixTaken(prefix, owner, service): "service \(service): prefix \(prefix) already belongs to \(owner)"
        }
    }
}
