public import MonSyncCore

/// A set of in-process loopback endpoints that can reach each other, with seeded fault injection.
///
/// Endpoints join a network when they start and leave it when they shut down;
/// an address is served by at most one running endpoint. Faults (loss,
/// duplication, reordering, delay) are drawn from a generator seeded at
/// creation, so a run is reproducible from its seed; partitions are set
/// explicitly.
///
/// ```swift
/// let network = LoopbackNetwork(seed: 42, faults: LoopbackFaults(drop: 0.01))
/// let a = LoopbackTransport(address: "loopback://a", network: network)
/// ```
public final class LoopbackNetwork: Sendable {
    /// Counts of what the network did to messages.
    public struct Statistics: Sendable, Hashable {
        /// Messages endpoints sent into the network.
        public var sent = 0
        /// Messages lost to the ``LoopbackFaults/drop`` fault.
        public var dropped = 0
        /// Messages delivered twice by the ``LoopbackFaults/duplicate`` fault.
        public var duplicated = 0
        /// Messages held back by the ``LoopbackFaults/reorder`` fault.
        public var reordered = 0
        /// Messages delivered late by the ``LoopbackFaults/delay`` fault.
        public var delayed = 0
        /// Sends refused because a partition separated the endpoints.
        public var refusedByPartition = 0
    }

    private struct Link: Hashable {
        var from: TransportAddress
        var to: TransportAddress
    }

    private struct State {
        var endpoints: [TransportAddress: LoopbackTransport] = [:]
        /// For each endpoint, the peers it has connected to (it gets their up/down events).
        var connections: [TransportAddress: Set<TransportAddress>] = [:]
        var partitioned: Set<Link> = []
        var faults: LoopbackFaults
        var linkFaults: [Link: LoopbackFaults] = [:]
        var rng: SeededRandomNumberGenerator
        var statistics = Statistics()
    }

    private let state: LockedState<State>

    /// The network endpoints join when none is given.
    public static let shared = LoopbackNetwork()

    /// A network whose faults are drawn from `seed`.
    public init(seed: UInt64 = 0, faults: LoopbackFaults = .none) {
        state = LockedState(State(faults: faults, rng: SeededRandomNumberGenerator(seed: seed)))
    }

    /// What the network has done so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// The addresses of the running endpoints.
    public var addresses: [TransportAddress] { state.withLock { $0.endpoints.keys.sorted() } }

    /// Replaces the faults applied to every link without its own.
    public func setFaults(_ faults: LoopbackFaults) { state.withLock { $0.faults = faults } }

    /// Sets the faults of the one-way link `from` → `to` (`nil` returns it to the network's faults).
    public func setFaults(_ faults: LoopbackFaults?, from: TransportAddress, to: TransportAddress) {
        state.withLock { $0.linkFaults[Link(from: from, to: to)] = faults }
    }

    /// Cuts every link between `side` and `other`, both ways. Sends across fail with
    /// `TransportError.peerUnreachable(_:)` and connected endpoints see each other go down.
    public func partition(_ side: Set<TransportAddress>, from other: Set<TransportAddress>) {
        let notices = state.withLock { state -> [(LoopbackTransport, TransportEvent, TransportAddress)] in
            var notices: [(LoopbackTransport, TransportEvent, TransportAddress)] = []
            for a in side {
                for b in other where a != b {
                    for link in [Link(from: a, to: b), Link(from: b, to: a)] {
                        guard state.partitioned.insert(link).inserted else { continue }
                        if state.connections[link.from]?.contains(link.to) == true,
                           state.endpoints[link.to] != nil, let endpoint = state.endpoints[link.from] {
                            notices.append((endpoint, .peerDown(link.to), link.to))
                        }
                    }
                }
            }
            return notices
        }
        for (endpoint, event, peer) in notices { endpoint.notify(event, concerning: peer) }
    }

    /// Removes every partition; connected endpoints see their peers come back up.
    public func heal() {
        let notices = state.withLock { state -> [(LoopbackTransport, TransportEvent, TransportAddress)] in
            let healed = state.partitioned
            state.partitioned.removeAll()
            return healed.compactMap { link in
                guard state.connections[link.from]?.contains(link.to) == true,
                      state.endpoints[link.to] != nil, let endpoint = state.endpoints[link.from] else { return nil }
                return (endpoint, .peerUp(link.to), link.to)
            }
        }
        for (endpoint, event, peer) in notices { endpoint.notify(event, concerning: peer) }
    }

    // MARK: - Used by LoopbackTransport

    func join(_ endpoint: LoopbackTransport) throws(TransportError) {
        let address = endpoint.localAddress
        let notices = try state.withLock { state throws(TransportError) -> [LoopbackTransport] in
            if state.endpoints[address] != nil {
                throw .bindFailed(address, reason: "address already in use by another loopback endpoint")
            }
            state.endpoints[address] = endpoint
            // Everyone who had connected to this address sees it (re)appear.
            return state.connections.compactMap { owner, peers in
                guard owner != address, peers.contains(address),
                      !state.partitioned.contains(Link(from: owner, to: address)) else { return nil }
                return state.endpoints[owner]
            }
        }
        for owner in notices { owner.notify(.peerUp(address), concerning: address) }
    }

    func leave(_ endpoint: LoopbackTransport) {
        let address = endpoint.localAddress
        let (others, notices) = state.withLock { state -> ([LoopbackTransport], [LoopbackTransport]) in
            guard state.endpoints[address] === endpoint else { return ([], []) }
            state.endpoints[address] = nil
            // A restarted endpoint at this address is a new process: it starts with no connections.
            state.connections[address] = nil
            let notices = state.connections.compactMap { owner, peers -> LoopbackTransport? in
                guard owner != address, peers.contains(address),
                      !state.partitioned.contains(Link(from: owner, to: address)) else { return nil }
                return state.endpoints[owner]
            }
            return (Array(state.endpoints.values), notices)
        }
        for owner in notices { owner.notify(.peerDown(address), concerning: address) }
        // Sends this endpoint still has waiting in other inboxes fail now.
        for other in others { other.failWaiters(from: address) }
    }

    /// Routing for one send: the target, the faults to apply, and whether this is a new connection.
    struct Route {
        var target: LoopbackTransport
        var decision: FaultDecision
        var reorderHold: Duration
        var newlyConnected: Bool
    }

    func route(from sender: TransportAddress, to peer: TransportAddress) throws(TransportError) -> Route {
        try state.withLock { state throws(TransportError) -> Route in
            let newlyConnected = state.connections[sender, default: []].insert(peer).inserted
            let link = Link(from: sender, to: peer)
            if state.partitioned.contains(link) {
                state.statistics.refusedByPartition += 1
                throw .peerUnreachable(peer)
            }
            guard let target = state.endpoints[peer] else { throw .peerUnreachable(peer) }
            let faults = state.linkFaults[link] ?? state.faults
            let decision = FaultDecision.draw(faults, using: &state.rng)
            state.statistics.sent += 1
            if decision.drop { state.statistics.dropped += 1 }
            if decision.duplicate { state.statistics.duplicated += 1 }
            if decision.reorder { state.statistics.reordered += 1 }
            if decision.delay != nil { state.statistics.delayed += 1 }
            return Route(target: target, decision: decision, reorderHold: faults.reorderHold, newlyConnected: newlyConnected)
        }
    }

    /// Records interest in `peer` and says whether it is reachable now.
    func connect(from sender: TransportAddress, to peer: TransportAddress) -> (newlyConnected: Bool, reachable: Bool) {
        state.withLock { state in
            let newlyConnected = state.connections[sender, default: []].insert(peer).inserted
            let reachable = state.endpoints[peer] != nil && !state.partitioned.contains(Link(from: sender, to: peer))
            return (newlyConnected, reachable)
        }
    }
}
