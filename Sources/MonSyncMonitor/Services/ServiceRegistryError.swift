/// Why a service could not be registered.
public enum ServiceRegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    case noPrefixes(service: String)
    case invalidPrefix(String, service: String)
    case reservedPrefix(String, service: String)
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
