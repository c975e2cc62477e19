import MonSyncMessages
/// The checks of the transport conformance kit, one per point of the `MessageTransport` contract
/// (and NNG's transport tests: exchange, huge message, connection refused, duplicate listen, close during use).
///
/// Run each with ``TransportConformance/run(_:)``; the raw value is a stable name for reports.
public enum ConformanceCheck: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A message goes from `a` to `b`, and a reply goes back to the sender address `b` saw;
    /// each arrives once, unmodified, with the right sender.
    case exchangeBothWays
    /// `connect(to:)` reports `peerUp` before any message is sent.
    case connectReportsPeerUp
    /// Two senders each send thousands of messages to one receiver at the same time, with a
    /// small queue; the receiver gets every message of each sender once, in that sender's order.
    case perPairOrdering
    /// A message of ``TransportConformance/Configuration/hugeMessageSize`` bytes (64 MiB by default)
    /// arrives intact, and the transport still works after it.
    case hugeMessage
    /// A message one byte over `TransportLimits.maximumMessageSize` is refused with
    /// `TransportError.messageTooLarge(size:limit:)` and nothing of it reaches the peer.
    case messageTooLarge
    /// A receiver that does not consume makes `send` throw `TransportError.sendTimedOut(_:after:)`
    /// after the send timeout, having accepted a bounded number of messages; once the receiver
    /// consumes, exactly the accepted messages arrive, in order, and sending works again.
    case backpressure
    /// Send timeouts run on `TransportOptions.clock`: a send blocked on a full receiver does not
    /// time out while a manual clock stands still, and throws `TransportError.sendTimedOut(_:after:)`
    /// promptly once the clock is advanced past the send timeout.
    case sendTimeoutFollowsClock
    /// Batches handed to `MessageTransport.post(_:to:completion:)` one after the other (1 to 200
    /// messages each) complete with every message sent and arrive whole, once, in order; a batch
    /// holding a message over the limit fails with `TransportError.messageTooLarge(size:limit:)`
    /// and nothing of it arrives.
    case postedBatches
    /// Batches posted to a receiver that does not consume complete until one fails with
    /// `TransportError.sendTimedOut(_:after:)` after the send timeout; once the receiver consumes,
    /// exactly the messages the completions counted as sent arrive, in order, and nothing of the rest.
    case postedBatchBackpressure
    /// A batch posted to an address nobody serves completes with `TransportError.peerUnreachable(_:)`
    /// and nothing sent, within the send timeout.
    case postToUnknownPeer
    /// A send to an address nobody serves throws `TransportError.peerUnreachable(_:)`
    /// within the send timeout, and the transport still works afterwards.
    case unknownPeer
    /// When a connected peer shuts down, `peerDown` is reported, and sends to it fail within the send timeout.
    case peerDown
    /// Messages a peer's `send` accepted before its `shutdown()` all arrive, in order, and the
    /// `peerDown` its shutdown causes comes after the last of them (one sequence carries both).
    case gracefulShutdown
    /// A peer that shuts down and comes back at the same address (a new transport) is
    /// reconnected to without help: `peerUp` is reported again and messages flow both ways.
    case peerRestart
    /// `shutdown()` returns promptly while one send waits on a full receiver, another on an
    /// unknown peer, and the consumer waits for events; the waiting send fails with
    /// `TransportError.notRunning`, the events finish, and a second `shutdown()` returns too.
    case shutdownWhileBusy
    /// A second `start()` throws `TransportError.alreadyStarted`; `start()` after `shutdown()` throws.
    case doubleStart
    /// Starting a second transport on an address in use throws `TransportError.bindFailed(_:reason:)`,
    /// and the first one keeps working.
    case duplicateAddress
    /// `send` and `connect` before `start()` and after `shutdown()` throw `TransportError.notRunning`,
    /// and the events of a shut-down transport finish.
    case sendAfterShutdown
    /// Well-framed but hostile messages (unknown type, garbage payload, future version, invalid
    /// flags, trailing bytes) reach the receiver's `Dispatcher`, are counted as malformed by
    /// `DispatchStatistics`, and a following valid `MMonSync` from the same peer is still handled.
    case hostileBytes
    /// Secured transports only (``TransportConformance/Authentication``): a message between two
    /// admitted peers, and the reply, each carry the sender's authenticated `InboundMessage.peer`.
    case admittedPeerIsAuthenticated
    /// Secured transports only: a peer whose credential is not admitted can neither get a message
    /// through to an admitted peer nor be sent one, and the admitted peer keeps serving the others.
    case strangerRefused

    /// Every check of a transport's contract (the authentication checks are in ``authenticationChecks``).
    public static var allCases: [ConformanceCheck] {
        [.exchangeBothWays, .connectReportsPeerUp, .perPairOrdering, .hugeMessage, .messageTooLarge, .backpressure,
         .sendTimeoutFollowsClock, .unknownPeer, .peerDown, .gracefulShutdown, .peerRestart, .shutdownWhileBusy,
         .doubleStart, .duplicateAddress, .sendAfterShutdown, .hostileBytes, .postedBatches, .postedBatchBackpressure,
         .postToUnknownPeer]
    }

    /// The checks a transport that authenticates its peers must pass as well.
    public static let authenticationChecks: [ConformanceCheck] = [.admittedPeerIsAuthenticated, .strangerRefused]

    /// The check's stable name (its raw value).
    public var description: String { rawValue }

    /// The function that performs the check.
    var body: @Sendable (CheckContext) async throws -> Void {
        switch self {
        case .exchangeBothWays: MessagingChecks.exchangeBothWays
        case .connectReportsPeerUp: PeerChecks.connectReportsPeerUp
        case .perPairOrdering: MessagingChecks.perPairOrdering
        case .hugeMessage: MessagingChecks.hugeMessage
        case .messageTooLarge: MessagingChecks.messageTooLarge
        case .backpressure: MessagingChecks.backpressure
        case .sendTimeoutFollowsClock: MessagingChecks.sendTimeoutFollowsClock
        case .postedBatches: BatchChecks.postedBatches
        case .postedBatchBackpressure: BatchChecks.postedBatchBackpressure
        case .postToUnknownPeer: BatchChecks.postToUnknownPeer
        case .unknownPeer: PeerChecks.unknownPeer
        case .peerDown: PeerChecks.peerDown
        case .gracefulShutdown: PeerChecks.gracefulShutdown
        case .peerRestart: PeerChecks.peerRestart
        case .shutdownWhileBusy: LifecycleChecks.shutdownWhileBusy
        case .doubleStart: LifecycleChecks.doubleStart
        case .duplicateAddress: LifecycleChecks.duplicateAddress
        case .sendAfterShutdown: LifecycleChecks.sendAfterShutdown
        case .hostileBytes: HostileBytesCheck.run
        case .admittedPeerIsAuthenticated: AuthenticationChecks.admittedPeerIsAuthenticated
        case .strangerRefused: AuthenticationChecks.strangerRefused
        }
    }
}
