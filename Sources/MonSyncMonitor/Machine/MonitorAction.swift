public import MonSyncCore
public import MonSyncMessages
public import MonSyncStore

/// What a ``MonitorMachine`` asks its shell to do, in order.
///
/// The order is part of the contract (etcd raft's `Ready`): a ``persist(_:)`` must be durable
/// before any action after it is executed, because those sends promise what it records (a
/// promise, an accepted value, a commit). When a persist fails, the shell executes nothing
/// after it and feeds ``MonitorInput/persistFailed(_:)``.
public enum MonitorAction: Sendable {
    /// Write `transaction` atomically and durably (synced) before going on.
    case persist(StoreTransaction)
    /// Queue `message` for `destination` without waiting (a peer's rank address or a client).
    case send(any WireMessage, to: TransportAddress)
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
        case let .arm(timer, deadline, generation): "arm(\(timer) at \(deadline) g\(generation))"
        case let .cancel(timer): "cancel(\(timer))"
        case let .finishProposal(id, result): "finishProposal(\(id), \(result))"
        case let .answerStatus(reply, client): "answerStatus(\(reply.op) → \(client))"
        case let .needsFullSync(requirement): "needsFullSync(\(requirement))"
        case let .toSyncRequester(message, sender): "toSyncRequester(\(message) from \(sender))"
        }
    }
}
