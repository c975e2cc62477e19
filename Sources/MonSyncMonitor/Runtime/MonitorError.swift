public import MonSyncCore
public import MonSyncStore

/// Why a monitor could not be created or started.
public enum MonitorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No monmap member has this name.
    case notInMonmap(String)
    /// The transport does not listen on the monmap's address for this monitor.
    case addressMismatch(name: String, monmap: String, transport: String)
    /// A service could not be registered.
    case service(ServiceRegistryError)
    /// The store failed.
    case store(StoreError)
    /// The transport failed to start.
    case transport(TransportError)
    /// ``Monitor/start()`` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case let .notInMonmap(name): "no monitor named \(name) in the monmap"
        case let .addressMismatch(name, monmap, transport):
            "mon.\(name) is at \(monmap) in the monmap but its transport listens on \(transport)"
        case let .service(error): "\(error)"
        case let .store(error): "\(error)"
        case let .transport(error): "\(error)"
        case .alreadyStarted: "the monitor was already started"
        }
    }
}
