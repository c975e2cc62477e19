import MonSyncCore

/// One endpoint of a check: a started transport and, unless the check holds its consumer back, a probe on its events.
struct Node: Sendable {
    let transport: any MessageTransport
    let probe: EventProbe?
    var address: TransportAddress { transport.localAddress }

    /// The probe; only checks that asked for one call this.
    var events: EventProbe {
        guard let probe else { preconditionFailure("this node was made without an event probe") }
        return probe
    }
}

/// How one send ended.
enum SendOutcome: Sendable, CustomStringConvertible {
    case sent(after: Duration)
    case failed(TransportError, after: Duration)
    /// Still running at the deadline.
    case stuck(Duration)

    var description: String {
        switch self {
        case let .sent(after): "send returned after \(after)"
        case let .failed(error, after): "send threw \(error) (\(String(reflecting: error))) after \(after)"
        case let .stuck(limit): "send still running after \(limit)"
        }
    }
}

/// What a check works with: the kit's settings, address and transport making, and a record of
/// every transport made so that all are shut down when the check ends.
final class CheckContext: Sendable {
    let kit: TransportConformance
    private let addresses = LockedState<[String: TransportAddress]>([:])
    private let transports = LockedState<[any MessageTransport]>([])

    init(_ kit: TransportConformance) { self.kit = kit }

    var configuration: TransportConformance.Configuration { kit.configuration }
    var timeout: Duration { configuration.timeout }
    var promptness: Duration { configuration.promptness }

    /// The address of the logical node `name`; the same for the whole check.
    func address(_ name: String) throws -> TransportAddress {
        if let known = addresses.withLock({ $0[name] }) { return known }
        let address: TransportAddress
        do { address = try kit.makeAddress(name) } catch {
            throw Mismatch(expected: "makeAddress(\"\(name)\") to return an address", observed: "it threw \(error)")
        }
        return addresses.withLock { addresses in
            if let known = addresses[name] { return known }
            addresses[name] = address
            return address
        }
    }

    /// The options the kit gives transports, adjusted by `modify`.
    ///
    /// The send timeout is ``TransportConformance/Configuration/timeout``, generous, so that sends that
    /// must succeed do so on a loaded machine; checks that wait for a send to fail ask for
    /// ``shortSendTimeout``.
    func options(_ modify: (inout TransportOptions) -> Void = { _ in }) -> TransportOptions {
        var options = TransportOptions(
            maximumMessageSize: max(Frame.defaultMaximumPayloadSize + Frame.overhead, configuration.hugeMessageSize),
            sendTimeout: configuration.timeout,
            queueCapacity: configuration.queueCapacity)
        modify(&options)
        return options
    }

    /// The options with ``TransportConformance/Configuration/sendTimeout``: for the node whose sends should fail.
    var shortSendTimeout: TransportOptions { options { $0.sendTimeout = configuration.sendTimeout } }

    /// A new, not started transport at `address`, recorded for the final shutdown.
    func make(at address: TransportAddress, options: TransportOptions? = nil) throws -> any MessageTransport {
        let transport: any MessageTransport
        do { transport = try kit.makeTransport(address, options ?? self.options()) } catch {
            throw Mismatch(expected: "makeTransport(\(address)) to return a transport", observed: "it threw \(error)")
        }
        guard transport.localAddress == address else {
            throw Mismatch(expected: "localAddress to be \(address), the address the transport was made for",
                           observed: "localAddress \(transport.localAddress)")
        }
        transports.withLock { $0.append(transport) }
        return transport
    }

    /// Records a transport made outside ``make(at:options:)`` (a stranger) for the final shutdown.
    func adopt(_ transport: any MessageTransport) throws -> any MessageTransport {
        transports.withLock { $0.append(transport) }
        return transport
    }

    /// Starts `transport`, which must succeed promptly.
    func start(_ transport: any MessageTransport) async throws {
        let result = try await expectWithin(promptness, "start() of \(transport.localAddress) to return") {
            do throws(TransportError) { try await transport.start(); return Result<Void, TransportError>.success(()) } catch {
                return .failure(error)
            }
        }
        if case let .failure(error) = result {
            throw Mismatch(expected: "start() of \(transport.localAddress) to succeed", observed: "it threw \(error)")
        }
    }

    /// Makes and starts the node `name`, with a probe on its events unless `consume` is false.
    func node(_ name: String, options: TransportOptions? = nil, consume: Bool = true) async throws -> Node {
        try await node(at: address(name), options: options, consume: consume)
    }

    /// Makes and starts a node at `address` (a restart reuses an address).
    func node(at address: TransportAddress, options: TransportOptions? = nil, consume: Bool = true) async throws -> Node {
        let transport = try make(at: address, options: options)
        try await start(transport)
        return Node(transport: transport, probe: consume ? EventProbe(transport) : nil)
    }

    /// Sends and reports how the send ended, waiting at most `limit`.
    func attemptSend(_ bytes: [UInt8], from transport: any MessageTransport, to peer: TransportAddress,
                     within limit: Duration) async -> SendOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await withDeadline(limit) { () async -> Result<Void, TransportError> in
            do throws(TransportError) { try await transport.send(bytes, to: peer); return .success(()) } catch {
                return .failure(error)
            }
        }
        let elapsed = start.duration(to: clock.now)
        switch outcome {
        case .finished(.success(.success)): return .sent(after: elapsed)
        case let .finished(.success(.failure(error))): return .failed(error, after: elapsed)
        case let .finished(.failure(error)): return .failed(.underlying("\(error)"), after: elapsed)
        case .timedOut: return .stuck(limit)
        }
    }

    /// Sends a message that must be accepted (the peer is up and keeps up).
    func send(_ bytes: [UInt8], from transport: any MessageTransport, to peer: TransportAddress, _ what: String) async throws {
        let outcome = await attemptSend(bytes, from: transport, to: peer, within: configuration.sendTimeout + timeout)
        guard case .sent = outcome else {
            throw Mismatch(expected: "send of \(what) from \(transport.localAddress) to \(peer) to succeed", observed: "\(outcome)")
        }
    }

    /// After a send (or a batch) to a receiver that consumed nothing was refused: once the
    /// receiver consumes, exactly the `accepted` messages arrive, in order (sequence 0, 1, …), and
    /// a marker sent then is the next to arrive — what was refused (`refused`) is never delivered late.
    func expectAcceptedThenNothingRefused(_ accepted: Int, refused: String, marker: [UInt8],
                                          from sender: any MessageTransport, to receiver: any MessageTransport) async throws {
        let probe = EventProbe(receiver)
        let received = try await probe.messages(count: accepted, within: timeout,
                                                "the \(accepted) accepted messages once \(receiver.localAddress) consumes")
        for (index, message) in received.enumerated() {
            guard let (_, sequence) = ProbeFrame.parse(message.bytes), sequence == UInt64(index) else {
                throw Mismatch(expected: "accepted message \(index) in order", observed: ProbeFrame.describe(message.bytes))
            }
        }
        try await send(marker, from: sender, to: receiver.localAddress, "a message once the receiver consumes")
        let next = try await probe.nextMessage(within: timeout, "the message sent after draining")
        guard sameBytes(marker, next.bytes) else {
            throw Mismatch(expected: "the message sent after draining (\(refused) must not be delivered)",
                           observed: ProbeFrame.describe(next.bytes))
        }
    }

    /// Shuts `transport` down, which must return promptly.
    func shutdown(_ transport: any MessageTransport, _ situation: String = "") async throws {
        let suffix = situation.isEmpty ? "" : " " + situation
        _ = try await expectWithin(promptness, "shutdown() of \(transport.localAddress) to return\(suffix)") {
            await transport.shutdown()
        }
    }

    /// Shuts down every transport the check made, concurrently; reports one that did not return promptly.
    func shutDownAll() async -> Mismatch? {
        let all = transports.withLock { $0 }
        let limit = promptness
        return await withTaskGroup(of: Mismatch?.self) { group in
            for transport in all {
                group.addTask {
                    // withDeadline never waits for a hung shutdown, so this group always ends.
                    if case .timedOut = await withDeadline(limit, { await transport.shutdown() }) {
                        return Mismatch(expected: "shutdown() of \(transport.localAddress) at the end of the check to return within \(limit)",
                                        observed: "still running after \(limit)")
                    }
                    return nil
                }
            }
            var first: Mismatch?
            for await result in group where first == nil { first = result }
            return first
        }
    }
}
