import MonSyncCore
import MonSyncLoopback
import Synchronization

/// One way of breaking the transport contract, for checking that the kit notices.
enum Fault: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Holds each message back until the next one to the same peer has gone.
    case reordersPairs
    /// Loses every hundredth message.
    case dropsEveryHundredth
    /// Flips a byte in the middle of every message over 1 KiB.
    case corruptsLargeMessages
    /// Reports the wrong sender on every message.
    case reportsWrongSender
    /// Announces a 1 MiB limit and does not enforce it.
    case ignoresItsSizeLimit
    /// Delivers no peer events.
    case swallowsPeerEvents
    /// Lets `start()` succeed twice.
    case allowsDoubleStart
    /// Never returns from a send to an address whose name contains "nobody".
    case hangsOnUnknownPeer
    /// Never returns from `shutdown()`.
    case hangsOnShutdown
    /// Never finishes its events after shutdown.
    case neverFinishesEvents
    /// Accepts every send to a peer that does not consume, without bound.
    case queuesWithoutBound
    /// Times sends out on the wall clock, whatever clock the options carry.
    case ignoresInjectedClock

    var description: String { rawValue }
}

/// A loopback transport with one ``Fault``: the kit must fail the matching check, in bounded time.
final class FaultyTransport: MessageTransport {
    let inner: LoopbackTransport
    let fault: Fault
    private let held = LockedState<[TransportAddress: [UInt8]]>([:])
    private let sent = Atomic<Int>(0)
    /// Continuations of the operations a fault hangs forever; never resumed, and unchecked so nothing complains.
    private let hung = LockedState<[UnsafeContinuation<Void, Never>]>([])

    init(address: TransportAddress, network: LoopbackNetwork, options: TransportOptions, fault: Fault) {
        var options = options
        if fault == .queuesWithoutBound {
            options.queueCapacity = 1 << 30
        }
        if fault == .ignoresInjectedClock {
            options.clock = ContinuousClock()
        }
        inner = LoopbackTransport(address: address, network: network, options: options,
                                  byteCapacity: fault == .queuesWithoutBound ? Int.max : LoopbackTransport.defaultByteCapacity)
        self.fault = fault
    }

    var localAddress: TransportAddress { inner.localAddress }

    var limits: TransportLimits {
        fault == .ignoresItsSizeLimit ? TransportLimits(maximumMessageSize: 1 << 20) : inner.limits
    }

    func start() async throws(TransportError) {
        do { try await inner.start() } catch .alreadyStarted where fault == .allowsDoubleStart {}
    }

    func connect(to peer: TransportAddress) async throws(TransportError) { try await inner.connect(to: peer) }

    func send(_ bytes: [UInt8], to peer: TransportAddress) async throws(TransportError) {
        switch fault {
        case .reordersPairs:
            let previous = held.withLock { held -> [UInt8]?? in
                if let previous = held.removeValue(forKey: peer) { return .some(previous) }
                held[peer] = bytes
                return .none
            }
            guard let previous else { return }
            try await inner.send(bytes, to: peer)
            if let previous { try await inner.send(previous, to: peer) }
        case .dropsEveryHundredth where sent.add(1, ordering: .relaxed).newValue % 100 == 0:
            return
        case .corruptsLargeMessages where bytes.count > 1024:
            var corrupted = bytes
            corrupted[bytes.count / 2] ^= 0xFF
            try await inner.send(corrupted, to: peer)
        case .hangsOnUnknownPeer where peer.location.contains("nobody"):
            await hang()
        default:
            try await inner.send(bytes, to: peer)
        }
    }

    var events: TransportEvents {
        let events = inner.events
        let fault = fault
        return TransportEvents { [self] in
            var iterator = events.makeAsyncIterator()
            while true {
                guard let event = await iterator.next() else {
                    if fault == .neverFinishesEvents { await hang() }
                    return nil
                }
                switch (fault, event) {
                case (.swallowsPeerEvents, .peerUp), (.swallowsPeerEvents, .peerDown):
                    continue
                case let (.reportsWrongSender, .message(message)):
                    return .message(InboundMessage(sender: "loopback://impostor", bytes: message.bytes))
                default:
                    return event
                }
            }
        }
    }

    func shutdown() async {
        await inner.shutdown()
        if fault == .hangsOnShutdown { await hang() }
    }

    private func hang() async {
        await withUnsafeContinuation { continuation in hung.withLock { $0.append(continuation) } }
    }
}
