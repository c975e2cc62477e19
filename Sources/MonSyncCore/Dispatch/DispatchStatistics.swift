
/// Counters of a ``Dispatcher``: what arrived, what was handled, and what was dropped and why.
///
/// Readable at any time from any thread; tests and `status` read a ``Snapshot``.
/// The same counts go to swift-metrics (`monsync_dispatch_*`).
public final class DispatchStatistics: Sendable {
    /// A consistent-enough copy of the counters at one moment.
    public struct Snapshot: Sendable, Hashable {
        /// Messages received from the transport.
        public var received: Int
        /// Messages a handler ran for without throwing.
        public var handled: Int
        /// Messages dropped because they did not decode, by ``DecodeError/kind``.
        public var malformed: [String: Int]
        /// Messages that decoded but had no handler.
        public var unroutable: Int
        /// Messages whose handler threw.
        public var handlerFailures: Int
        /// Messages sent.
        public var sent: Int
        /// Sends that failed.
        public var sendFailures: Int
        /// Peer up and down events seen.
        public var peerEvents: Int

        /// Every dropped inbound message: malformed, unroutable.
        public var dropped: Int { malformed.values.reduce(0, +) + unroutable }
    }

    private let state = LockedState(Snapshot(received: 0, handled: 0, malformed: [:], unroutable: 0,
                                       handlerFailures: 0, sent: 0, sendFailures: 0, peerEvents: 0))

    /// Counters that all start at zero; a ``Dispatcher`` makes its own, so pass one only to share it.
    public init() {}

    /// The current counts.
    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
}
