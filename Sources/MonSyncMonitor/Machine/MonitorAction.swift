public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// What a ``MonitorMachine`` asks its shell to do, in order.
///
/// The order is part of the contract (etcd raft's `Ready`): a ``persist(_:)`` must be durable
/// before any action after it is executed, because those sends promise what it records (a
/// promise, an accepted value, a commit). When a persist fails, the shell executes nothing
/// after it and feeds ``MonitorInput/persistFailed(_:)``. The one exception is
/// ``sendAhead(_:to:)``, which promises nothing a persist of its step records: a shell runs the
/// actions in ``inExecutionOrder(_:)``.
public enum MonitorAction: Sendable {
    /// Write `transaction` atomically and durably (synced) before going on.
    case persist(StoreTransaction)
    /// Queue `message` for `destination` without waiting (a peer's rank address or a client).
    case send(any WireMessage, to: TransportAddress)
    /// Queue `message` for `destination` without waiting, possibly before the persists that
    /// precede it in the list: the leader's BEGIN, COMMIT and LEASE, which promise nothing about
    /// the leader's own store. So the leader's synced write of a version overlaps the peons'
    /// (etcd raft likewise lets a leader send entries while it is still persisting them, Raft
    /// thesis §10.2.1). See ``inExecutionOrder(_:)``.
    case sendAhead(any WireMessage, to: TransportAddress)
    /// Fire ``MonitorInput/timer(_:generation:)`` when the monitor's clock reaches `deadline`;
    /// replaces any earlier arming of the same timer.
    case arm(MonitorTimer, at: Duration, generation: UInt64)
    /// The timer need not fire any more (a late firing is ignored by its generation anyway).
    case cancel(MonitorTimer)
    /// Answer a service proposal.
    case finishProposal(id: UInt64, Result<UInt64, ProposalError>)
    /// Answer a status command: the shell adds the store sync's section (when one of the three
    /// roles has something to report) to `reply.status` and sends it to `client`.
    case answerStatus(MMonCommandReply, to: TransportAddress)
    /// Probing found this monitor oblivious: only a full store sync can bring it up to date. The
    /// shell runs the requester (`SyncRequesterMachine`) and feeds ``MonitorInput/syncFinished``.
    case needsFullSync(SyncRequirement)
    /// An MMonSync for this monitor's sync requester (an ABORT that named no provider session and
    /// no grant here); dropped and counted when no sync runs.
    case toSyncRequester(MMonSync, from: TransportAddress)
}

extension MonitorAction: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .persist(transaction): "persist(\(transaction.count) ops)"
        case let .send(message, destination): "send(\(message) → \(destination))"
        case let .sendAhead(message, destination): "sendAhead(\(message) → \(destination))"
        case let .arm(timer, deadline, generation): "arm(\(timer) at \(deadline) g\(generation))"
        case let .cancel(timer): "cancel(\(timer))"
        case let .finishProposal(id, result): "finishProposal(\(id), \(result))"
        case let .answerStatus(reply, client): "answerStatus(\(reply.op) → \(client))"
        case let .needsFullSync(requirement): "needsFullSync(\(requirement))"
        case let .toSyncRequester(message, sender): "toSyncRequester(\(message) from \(sender))"
        }
    }
}

extension MonitorAction {
    /// The message and destination of a ``send(_:to:)`` or ``sendAhead(_:to:)``; `nil` for other actions.
    public var sentMessage: (message: any WireMessage, destination: TransportAddress)? {
        switch self {
        case let .send(message, destination), let .sendAhead(message, destination): (message, destination)
        default: nil
        }
    }

    /// `actions` in the order a shell executes them: each ``sendAhead(_:to:)`` moves to the front
    /// (ahead of the persists), unless an ordered action already addressed its destination earlier
    /// in the list — then it stays where it is, so every link still carries its messages in the
    /// order the machine decided them. Everything else keeps its order.
    ///
    /// Why the leader may send these before its own synced write completes: BEGIN v proposes a
    /// value under a number the leader promised in an earlier, already durable step, and the
    /// leader counts its own acceptance only in a later step (an ACCEPT is handled after this
    /// step's actions have all run); COMMIT v and LEASE at v speak of a version a majority has
    /// already accepted durably. If the leader crashes before its write, Paxos recovery finds the
    /// value on the peons that accepted it, exactly as when a leader dies after sending BEGIN.
    /// Replies to clients stay behind the persist: a write is answered only once the leader's own
    /// store holds it.
    public static func inExecutionOrder(_ actions: [MonitorAction]) -> [MonitorAction] {
        inExecutionOrder(actions, keepingLinkOrder: true)
    }

    /// ``inExecutionOrder(_:)``, or (`keepingLinkOrder` false: the simulator's
    /// `aheadPastLinkOrder` mutation) with every ``sendAhead(_:to:)`` first, whatever preceded it.
    @_spi(Testing) public static func inExecutionOrder(_ actions: [MonitorAction], keepingLinkOrder: Bool) -> [MonitorAction] {
        guard actions.contains(where: { if case .sendAhead = $0 { true } else { false } }) else { return actions }
        var ahead: [MonitorAction] = []
        var rest: [MonitorAction] = []
        var addressedInOrder: Set<TransportAddress> = []
        for action in actions {
            switch action {
            case let .sendAhead(_, destination) where !addressedInOrder.contains(destination):
                ahead.append(action)
            case let .send(_, destination), let .answerStatus(_, destination):
                if keepingLinkOrder { addressedInOrder.insert(destination) }
                rest.append(action)
            default:
                rest.append(action)
            }
        }
        return ahead + rest
    }
}
