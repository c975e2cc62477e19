#if ZeroMQ
public import Logging
public import MonSyncCore

/// Registers the ZeroMQ transport for `tcp://`, `ipc://` and `inproc://` addresses in a `TransportRegistry`.
///
/// ```swift
/// var registry = TransportRegistry()
/// registry.register(ZeroMQTransportFactory())
/// let transport = try registry.makeTransport(listeningOn: TransportAddress("tcp://10.0.0.1:6789"))
/// ```
public struct ZeroMQTransportFactory: TransportFactory {
    /// `tcp`, `ipc` and `inproc`.
    public let schemes: Set<String> = ZeroMQTransport.schemes
    /// The context every transport made here shares (so their inproc endpoints reach each other).
    public let context: ZeroMQContext
    /// The ZeroMQ settings of every transport made here.
    public let configuration: ZeroMQConfiguration
    /// The logger handed to every transport made here.
    public let logger: Logger

    /// Creates a factory.
    ///
    /// - Parameters:
    ///   - context: the context to share; ``ZeroMQContext/shared`` by default.
    ///   - configuration: ZeroMQ-specific settings.
    ///   - logger: the transports' logger.
    public init(context: ZeroMQContext = .shared, configuration: ZeroMQConfiguration = ZeroMQConfiguration(),
                logger: Logger = Logger(label: "monsync.zeromq")) {
        self.context = context
        self.configuration = configuration
        self.logger = logger
    }

    /// A new, not yet started ``ZeroMQTransport`` for `address`.
    ///
    /// - Throws: `TransportError.invalidAddress(_:reason:)` for an address it cannot listen on.
    public func makeTransport(listeningOn address: TransportAddress, options: TransportOptions) throws(TransportError) -> any MessageTransport {
        try ZeroMQTransport(address: address, options: options, configuration: configuration, context: context, logger: logger)
    }
}
#endif
