/// Settings shared by every transport, passed to a ``TransportFactory``.
public struct TransportOptions: Sendable {
    /// The largest message accepted, in bytes. Defaults to the frame limit plus framing overhead.
    public var maximumMessageSize: Int
    /// How long a send may wait for a full queue or a peer that is not (yet) up.
    public var sendTimeout: Duration
    /// Messages queued towards one peer before `send` waits (the high-water mark).
    public var queueCapacity: Int
    /// The clock for every timeout; a test clock makes them deterministic.
    public var clock: any Clock<Duration>

    /// Options with MonSync's defaults: 64 MiB frames, a 10 s send timeout, 1000 messages queued per
    /// peer, and the continuous clock.
    ///
    /// - Parameters:
    ///   - maximumMessageSize: the largest message a transport accepts, in bytes.
    ///   - sendTimeout: the longest a send waits for room in a queue or for its peer.
    ///   - queueCapacity: messages queued towards one peer before a send waits.
    ///   - clock: the clock of every timeout; a test passes a clock it drives.
    public init(
        maximumMessageSize: Int = Frame.defaultMaximumPayloadSize + Frame.overhead,
        sendTimeout: Duration = .seconds(10),
        queueCapacity: Int = 1000,
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.maximumMessageSize = maximumMessageSize
        self.sendTimeout = sendTimeout
        self.queueCapacity = queueCapacity
        self.clock = clock
    }
}

/// Makes transports for the address schemes it serves (a "transport descriptor", as in NNG).
public protocol TransportFactory: Sendable {
    /// The URL schemes this factory serves, lower case (`["tcp", "ipc", "inproc"]`).
    var schemes: Set<String> { get }

    /// A new, not yet started transport listening on `address`.
    func makeTransport(listeningOn address: TransportAddress, options: TransportOptions) throws(TransportError) -> any MessageTransport
}

/// Finds the transport for an address by its URL scheme, so a program picks its transport
/// from configuration or a command-line flag.
///
/// ```swift
/// var registry = TransportRegistry()
/// registry.register(LoopbackTransportFactory())
/// registry.register(ZeroMQTransportFactory())
/// let transport = try registry.makeTransport(listeningOn: TransportAddress(config.address))
/// ```
///
/// <doc:ChoosingATransport> compares the transports MonSync ships.
public struct TransportRegistry: Sendable {
    private var factories: [String: any TransportFactory] = [:]

    /// An empty registry: register a factory for each transport the program offers.
    public init() {}

    /// Registers `factory` for each of its schemes, replacing earlier registrations of them.
    public mutating func register(_ factory: any TransportFactory) {
        for scheme in factory.schemes { factories[scheme.lowercased()] = factory }
    }

    /// The registered schemes, sorted.
    public var schemes: [String] { factories.keys.sorted() }

    /// Whether a transport is registered for `scheme`.
    public func supports(scheme: String) -> Bool { factories[scheme.lowercased()] != nil }

    /// Makes a transport for `address`'s scheme.
    ///
    /// - Throws: ``TransportError/unsupportedScheme(_:known:)`` if none is registered,
    ///   or whatever the factory throws for the address.
    public func makeTransport(
        listeningOn address: TransportAddress, options: TransportOptions = TransportOptions()
    ) throws(TransportError) -> any MessageTransport {
        guard let factory = factories[address.scheme] else {
            throw .unsupportedScheme(address.scheme, known: schemes)
        }
        return try factory.makeTransport(listeningOn: address, options: options)
    }
}
