/// Why a monmap is invalid.
public enum MonMapError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The map has no member.
    case empty
    /// More members than ``MonMap/maximumMembers``.
    case tooManyMembers(Int)
    /// A member's rank is not its position.
    case rankOutOfPlace(name: String, rank: Int32, expected: Int32)
    /// A member has no name.
    case emptyName(rank: Int32)
    /// Two members share a name.
    case duplicateName(String)
    /// Two members share an address.
    case duplicateAddress(String)
    /// An address is not a transport URL.
    case invalidAddress(String, reason: String)
    /// A `name=url` item could not be parsed.
    case malformed(String)

    public var description: String {
        switch self {
        case .empty: "the monmap has no member"
        case let .tooManyMembers(count): "the monmap has \(count) members; at most \(MonMap.maximumMembers) are supported"
        case let .rankOutOfPlace(name, rank, expected): "mon.\(name) has rank \(rank) but is at position \(expected)"
        case let .emptyName(rank): "the monitor of rank \(rank) has no name"
        case let .duplicateName(name): "the name \(name) is used twice"
        case let .duplicateAddress(address): "the address \(address) is used twice"
        case let .invalidAddress(address, reason): "invalid address \(address): \(reason)"
        case let .malformed(item): "expected name=url, got \(item)"
        }
    }
}
