public import MonSyncCore

/// Registers ``UnixSocketTransport`` for `unix://` addresses in a `TransportRegistry`.
///
/// ```swift
/// var registry = TransportRegistry()
/// registry.register(UnixSocketTransportFactory())
/// let transport = try registry.makeTransport(listeningOn: TransportAddress("unix:///tmp/monsync-a.sock"))
/// ```
public struct UnixSocketTransportFactory: TransportFactory {
    /// The one scheme served: `unix`.
    public let schemes: Set<String> = ["unix"]

    /// Creates the factory.
    public init() {}

    /// A new, not yet started ``UnixSocketTransport`` for `address`.
    ///
    /// - Throws: `TransportError.invalidAddress(_:reason:)` for a path the transport cannot use.
    public func makeTransport(listeningOn address: TransportAddress, options: TransportOptions) throws(TransportError) -> any MessageTransport {
        try UnixSocketTransport(address: address, options: options)
    }
}
