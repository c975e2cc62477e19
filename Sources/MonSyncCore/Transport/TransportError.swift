/// What a transport operation can fail with.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The address is not `scheme://location`, or the transport cannot use its location.
    case invalidAddress(String, reason: String)
    /// No transport is registered for the address's scheme.
    case unsupportedScheme(String, known: [String])
    /// The transport could not bind or listen on its address (in use, permission, …).
    case bindFailed(TransportAddress, reason: String)
    /// Nothing is known at this address, or it is down and stayed down for the send timeout.
    case peerUnreachable(TransportAddress)
    /// The peer's queue stayed full for the whole send timeout: backpressure, not a failure of the peer.
    case sendTimedOut(TransportAddress, after: Duration)
    /// The message is larger than the transport's ``TransportLimits/maximumMessageSize``.
    case messageTooLarge(size: Int, limit: Int)
    /// The transport was not started, or has shut down.
    case notRunning
    /// The transport was already started.
    case alreadyStarted
    /// A key or other credential is malformed, or the transport has none for a peer it must authenticate.
    case invalidCredential(String)
    /// An error of the underlying library or system, with its text.
    case underlying(String)

    public var description: String {
        switch self {
        case let .invalidAddress(address, reason): "invalid address '\(address)': \(reason)"
        case let .unsupportedScheme(scheme, known):
            "no transport for scheme '\(scheme)'; known schemes: \(known.joined(separator: ", "))"
        case let .bindFailed(address, reason): "cannot listen on \(address): \(reason)"
        case let .peerUnreachable(address): "peer \(address) is unreachable"
        case let .sendTimedOut(address, after): "send to \(address) timed out after \(after) (peer's queue full)"
        case let .messageTooLarge(size, limit): "message of \(size) bytes exceeds the transport limit of \(limit) bytes"
        case .notRunning: "transport is not running"
        case .alreadyStarted: "transport was already started"
        case let .invalidCredential(text): "invalid credential: \(text)"
        case let .underlying(text): text
        }
    }
}
