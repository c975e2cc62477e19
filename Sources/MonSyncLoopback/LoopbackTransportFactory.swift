public import MonSyncCore

/// Registers the loopback transport for `loopback://` addresses in a `TransportRegistry`.
public struct LoopbackTransportFactory: TransportFactory {
    public let schemes: Set<String> = ["loopback"]
    /// The network every transport made by this factory joins.
    public let network: LoopbackNetwork

    /// A factory whose transports join `network` (the process-wide ``LoopbackNetwork/shared`` one by default).
    public init(network: LoopbackNetwork = .shared) { self.network = network }

    public func makeTransport(listeningOn address: TransportAddress, options: TransportOptions) throws(TransportError) -> any MessageTransport {
        LoopbackTransport(address: address, network: network, options: options)
    }
}
