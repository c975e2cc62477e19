/// Limits a transport enforces.
public struct TransportLimits: Sendable, Hashable {
    /// The largest message ``MessageTransport/send(_:to:)`` accepts, in bytes.
    public var maximumMessageSize: Int

    /// Limits with `maximumMessageSize` bytes as the largest message.
    public init(maximumMessageSize: Int) { self.maximumMessageSize = maximumMessageSize }
}

/// A transport plugin: moves opaque frames between endpoints named by ``TransportAddress``.
///
/// The core never looks inside a transport, and a transport never looks inside
/// a frame: it carries the bytes the ``MessageCodec`` produced, unchanged.
///
/// ## Contract
///
/// Every transport, built in or third party, promises the following; the
/// transport conformance kit checks each point.
///
/// - **Lifecycle.** ``start()`` binds ``localAddress`` and returns once the
///   endpoint can receive; calling it twice throws ``TransportError/alreadyStarted``.
///   ``shutdown()`` is graceful and idempotent, returns in bounded time even
///   while sends are blocked or peers are gone, and finishes ``events``.
/// - **Ordering.** Messages from one sender to one receiver arrive in the order
///   the sender's `send` calls completed, each at most once and unmodified.
///   Nothing is promised across different senders.
/// - **Size.** A message larger than ``limits`` is refused with
///   ``TransportError/messageTooLarge(size:limit:)`` before anything is sent.
/// - **Unknown or down peers.** `send` to an address that nobody serves, or to
///   a peer that is down, either throws ``TransportError/peerUnreachable(_:)``
///   at once or waits at most the configured send timeout in a bounded queue
///   and then throws. It never hangs and never queues without bound.
/// - **Backpressure.** When the receiver does not keep up, `send` suspends (it
///   does not block a thread) until there is room, or throws
///   ``TransportError/sendTimedOut(_:after:)`` after the send timeout.
/// - **Events.** ``events`` delivers inbound messages and peer up/down changes
///   in order for a single consumer. A peer that restarts is reconnected to
///   without help, and reported up again.
/// - **Batches.** ``post(_:to:completion:)`` sends a batch in order, without suspending the caller,
///   under the same limits, errors and send timeout, stops at the first message that fails, and
///   calls its completion exactly once with how many were taken.
/// - **Threads.** No method blocks the caller's thread; all waiting is `async` (or, for `post`, a completion).
///
/// <doc:WritingATransport> gives the reason for each point and shows how to run the checks.
public protocol MessageTransport: AnyObject, Sendable {
    /// The address this endpoint listens on, and its identity towards peers.
    var localAddress: TransportAddress { get }

    /// The limits this transport enforces.
    var limits: TransportLimits { get }

    /// Binds the local address; after it returns, peers can reach this endpoint.
    func start() async throws(TransportError)

    /// Starts connecting to `peer` so that ``TransportEvent/peerUp(_:)`` can be reported
    /// before the first message. Sending connects implicitly; this is optional.
    func connect(to peer: TransportAddress) async throws(TransportError)

    /// Sends one message (a complete frame) to `peer`.
    ///
    /// Returns once the transport has taken responsibility for the bytes (queued
    /// for an established peer); see the contract above for errors and waiting.
    func send(_ bytes: [UInt8], to peer: TransportAddress) async throws(TransportError)

    /// Hands `messages` to the transport for `peer`, in order, without suspending the caller;
    /// `completion` says how it went.
    ///
    /// The batched, non-waiting form of ``send(_:to:)``, for a sender that has many small
    /// messages and does not need to await each one: each message is one frame and follows the
    /// contract above (order, size, unknown peers, backpressure with the same send timeout); a
    /// message larger than ``limits`` fails the batch before anything is sent. The transport
    /// sends the messages in order and stops at the first that fails: the rest are not sent.
    /// `completion` is called exactly once — when every message was taken (as a `send` returns)
    /// or at that first failure — possibly before this method returns, and possibly on a thread
    /// of the transport: it must be quick and must not block.
    ///
    /// A batch posted after an earlier batch to the same peer completed arrives after it. The
    /// default implementation (a task that calls ``send(_:to:)`` for each message) promises no
    /// more; a transport that queues posts in order (ZeroMQTransport) may document more.
    func post(_ messages: [[UInt8]], to peer: TransportAddress,
              completion: @escaping @Sendable (TransportBatchResult) -> Void)

    /// Inbound messages and peer events, for one consumer.
    var events: TransportEvents { get }

    /// Stops the endpoint: releases its address, fails pending sends with
    /// ``TransportError/notRunning``, and finishes ``events``. Idempotent.
    func shutdown() async
}

/// How a batch handed to ``MessageTransport/post(_:to:completion:)`` went.
public struct TransportBatchResult: Sendable, Hashable {
    /// How many messages of the batch, from its first, the transport took.
    public var sent: Int
    /// Why the message after those failed (the rest of the batch was not sent); `nil` when all were taken.
    public var failure: TransportError?

    /// A result: `sent` messages taken, then `failure` (if any).
    public init(sent: Int, failure: TransportError? = nil) {
        self.sent = sent
        self.failure = failure
    }
}

extension MessageTransport {
    /// Sends the messages one after the other with ``send(_:to:)`` on a new task, then calls
    /// `completion`; a transport with a cheaper batched path replaces it.
    public func post(_ messages: [[UInt8]], to peer: TransportAddress,
                     completion: @escaping @Sendable (TransportBatchResult) -> Void) {
        // The whole batch is refused before anything is sent, as the contract says.
        if let large = messages.first(where: { $0.count > limits.maximumMessageSize }) {
            return completion(TransportBatchResult(sent: 0, failure: .messageTooLarge(size: large.count, limit: limits.maximumMessageSize)))
        }
        Task {
            var sent = 0
            for message in messages {
                do throws(TransportError) { try await send(message, to: peer) } catch {
                    return completion(TransportBatchResult(sent: sent, failure: error))
                }
                sent += 1
            }
            completion(TransportBatchResult(sent: sent))
        }
    }
}
