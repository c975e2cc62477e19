public import MonSyncCore

/// The transport conformance kit: one set of checks that every `MessageTransport` runs, the
/// built-in ones and yours alike.
///
/// Build it from three things: a name for reports, a function that makes a fresh
/// address for a logical node name, and a function that makes a (not yet started)
/// transport. Then run each ``ConformanceCheck`` from any test framework:
///
/// ```swift
/// import Testing
/// import MonSyncTransportConformance
///
/// @Test(arguments: ConformanceCheck.allCases)
/// func conformance(_ check: ConformanceCheck) async throws {
///     let kit = TransportConformance(
///         name: "unix",
///         makeAddress: { name in try TransportAddress("unix:///tmp/t-\(UInt32.random(in: 0...UInt32.max))-\(name).sock") },
///         makeTransport: { address, options in try UnixSocketTransport(address: address, options: options) }
///     )
///     try await kit.run(check)
/// }
/// ```
///
/// A check makes its own transports, runs them, and shuts every one of them down
/// before it returns, whether it passed or not. Every wait in a check has a
/// deadline (see ``Configuration``): a transport that hangs fails the check, it
/// never hangs the test run.
public struct TransportConformance: Sendable {
    /// The limits and durations the checks use.
    public struct Configuration: Sendable {
        /// The size in bytes of the message the ``ConformanceCheck/hugeMessage`` check sends: 64 MiB by default.
        ///
        /// Lower it for a transport whose `TransportLimits.maximumMessageSize` is smaller;
        /// the transports the kit makes are given a `TransportOptions.maximumMessageSize`
        /// of at least this.
        public var hugeMessageSize: Int
        /// How many messages each of the two senders sends in ``ConformanceCheck/perPairOrdering``.
        public var orderedMessageCount: Int
        /// The longest the kit waits for anything that must happen (a message to arrive, a peer event);
        /// also the `TransportOptions.sendTimeout` of the transports whose sends must succeed.
        public var timeout: Duration
        /// The `TransportOptions.sendTimeout` of the transports whose sends are expected to fail or
        /// time out (unknown and departed peers, backpressure): short, so those checks are quick.
        public var sendTimeout: Duration
        /// The `TransportOptions.queueCapacity` given to the transports.
        public var queueCapacity: Int
        /// How soon what the contract calls prompt must happen: `shutdown()` returning, an error
        /// for a send that cannot succeed, a send that was promised to end (beyond its send timeout).
        public var promptness: Duration

        /// Creates a configuration; the defaults suit an in-process or local-socket transport.
        public init(hugeMessageSize: Int = Frame.defaultMaximumPayloadSize, orderedMessageCount: Int = 2000,
                    timeout: Duration = .seconds(10), sendTimeout: Duration = .milliseconds(500),
                    queueCapacity: Int = 32, promptness: Duration = .seconds(2)) {
            self.hugeMessageSize = hugeMessageSize
            self.orderedMessageCount = orderedMessageCount
            self.timeout = timeout
            self.sendTimeout = sendTimeout
            self.queueCapacity = queueCapacity
            self.promptness = promptness
        }
    }

    /// What the kit needs to check a transport that authenticates its peers: a way to make a
    /// stranger, a transport of the same kind whose credential the others do not admit
    /// (``makeTransport`` makes admitted ones). Run ``ConformanceCheck/authenticationChecks`` with it.
    public struct Authentication: Sendable {
        /// Makes a new, not yet started transport at the address whose credential is valid but not admitted.
        public let makeStranger: @Sendable (TransportAddress, TransportOptions) throws -> any MessageTransport

        /// Authentication checks with `makeStranger`.
        public init(makeStranger: @escaping @Sendable (TransportAddress, TransportOptions) throws -> any MessageTransport) {
            self.makeStranger = makeStranger
        }
    }

    /// The transport's name in failure reports (`"loopback"`, `"zmq+tcp"`, …).
    public let name: String
    /// Set for a secured transport: what the authentication checks need.
    public var authentication: Authentication?
    /// The limits and durations the checks use.
    public let configuration: Configuration
    /// Returns a fresh address for the logical node `name` (`"a"`, `"b"`, `"nobody"`, …).
    ///
    /// Called once per node and check; the check reuses the address when it
    /// restarts a node. The addresses must not collide with those of other
    /// checks that may run at the same time, nor with leftovers of earlier runs.
    public let makeAddress: @Sendable (String) throws -> TransportAddress
    /// Makes a new, not yet started transport listening on the address, with the kit's options.
    public let makeTransport: @Sendable (TransportAddress, TransportOptions) throws -> any MessageTransport

    /// Creates the kit for one transport.
    ///
    /// - Parameters:
    ///   - name: the transport's name in failure reports.
    ///   - configuration: limits and durations; the defaults suit local transports.
    ///   - makeAddress: a fresh address for a logical node name.
    ///   - makeTransport: a new, not yet started transport for an address and options.
    ///     Pass the options on: the checks depend on their send timeout and queue capacity.
    public init(name: String, configuration: Configuration = Configuration(),
                makeAddress: @escaping @Sendable (String) throws -> TransportAddress,
                makeTransport: @escaping @Sendable (TransportAddress, TransportOptions) throws -> any MessageTransport) {
        self.name = name
        self.configuration = configuration
        self.makeAddress = makeAddress
        self.makeTransport = makeTransport
    }

    /// Creates the kit from a `TransportFactory`, as a registry would use it.
    public init(name: String, configuration: Configuration = Configuration(),
                factory: any TransportFactory, makeAddress: @escaping @Sendable (String) throws -> TransportAddress) {
        self.init(name: name, configuration: configuration, makeAddress: makeAddress) { address, options in
            try factory.makeTransport(listeningOn: address, options: options)
        }
    }

    /// Runs one check against fresh transports, and shuts them all down before returning.
    ///
    /// - Throws: ``ConformanceFailure`` naming the check, what the contract expects and
    ///   what the transport did; also when a transport does not shut down promptly afterwards.
    public func run(_ check: ConformanceCheck) async throws(ConformanceFailure) {
        let context = CheckContext(self)
        var failure: ConformanceFailure?
        do {
            try await check.body(context)
        } catch let mismatch as Mismatch {
            failure = ConformanceFailure(transport: name, check: check, expected: mismatch.expected, observed: mismatch.observed)
        } catch {
            failure = ConformanceFailure(transport: name, check: check, expected: "no error from the kit's own steps",
                                         observed: "\(error)")
        }
        let cleanUp = await context.shutDownAll()
        if let failure { throw failure }
        if let cleanUp {
            throw ConformanceFailure(transport: name, check: check, expected: cleanUp.expected, observed: cleanUp.observed)
        }
    }

    /// Runs every check in turn and returns the failures (empty when the transport conforms).
    ///
    /// Convenient with XCTest; with Swift Testing prefer one parameterized test over
    /// ``ConformanceCheck/allCases``, so each check is reported on its own.
    public func runAll(_ checks: [ConformanceCheck] = ConformanceCheck.allCases) async -> [ConformanceFailure] {
        var failures: [ConformanceFailure] = []
        for check in checks {
            do { try await run(check) } catch { failures.append(error) }
        }
        return failures
    }
}
