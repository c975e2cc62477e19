public import MonSyncCore

/// Registers ``UnixSocketTransport`` for `unix://` addresses in a ``TransportRegistry``.
///
/// ```swift
/// var registry = TransportRegistry()
/// registry.register(UnixSocketTransportFactory())
/// let transport = try registry.makeTransport(listeningOn: TransportAddress("unix:///tmp/monsync-a.sock"))
/// ```
public struct UnixSocketTransportFactory: TransportFactory {
    public let schemes: Set<String> = ["unix"]

    public init() {}

    public func makeTransport(listeningOn address: TransportAddress, options: TransportOptions) throws(TransportError) -> any MessageTransport {
        try UnixSocketTransport(address: address, options: options)
    }
}
