import DequeModule
import MonSyncCore

/// The receiving side of one loopback endpoint: a bounded FIFO queue per sender, drained round-robin.
///
/// A plain value guarded by the endpoint's mutex; every method runs under that
/// lock and returns the continuations to resume, which the caller resumes after
/// unlocking (resuming under a lock invites deadlocks).
struct LoopbackInbox {
    struct Item {
        var event: TransportEvent
        var size: Int
        /// Not deliverable before this moment of the receiver's timebase (delay and reorder faults).
        var notBefore: Duration?
        /// Chosen to be overtaken by the next message on its link.
        var heldForReorder = false
        var isMessage: Bool { if case .message = event { true } else { false } }
    }

    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Result<Void, TransportError>, Never>
    }

    struct PairQueue {
        var items: Deque<Item> = []
        var messages = 0
        var bytes = 0
        var waiters: Deque<Waiter> = []
    }

    typealias Receiver = CheckedContinuation<TransportEvent?, Never>

    let capacity: Int
    let byteCapacity: Int
    private(set) var running = false
    private var pairs: [TransportAddress: PairQueue] = [:]
    /// Senders whose queue is non-empty, in round-robin order.
    private var ready: Deque<TransportAddress> = []
    var receiver: Receiver?
    var armedTimer: Duration?

    init(capacity: Int, byteCapacity: Int) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(1, byteCapacity)
    }

    mutating func start() { running = true }

    enum EnqueueResult {
        case enqueued
        case full
        case closed
    }

    /// Adds a message from `sender`, or says why it cannot. A message always fits an empty queue,
    /// so one larger than the byte capacity still makes progress.
    mutating func enqueueMessage(_ bytes: [UInt8], from sender: TransportAddress, now: Duration,
                                 delay: Duration?, reorder: Bool, reorderHold: Duration) -> EnqueueResult {
        guard running else { return .closed }
        var pair = pairs[sender] ?? PairQueue()
        if pair.messages > 0 && (pair.messages >= capacity || pair.bytes + bytes.count > byteCapacity) {
            pairs[sender] = pair
            return .full
        }
        var item = Item(event: .message(InboundMessage(sender: sender, bytes: bytes)), size: bytes.count)
        if let delay { item.notBefore = now + delay }
        pair.messages += 1
        pair.bytes += bytes.count
        if let last = pair.items.last, last.heldForReorder {
            // The held message lets this one pass, then becomes deliverable.
            let index = pair.items.count - 1
            pair.items[index].heldForReorder = false
            pair.items[index].notBefore = nil
            pair.items.insert(item, at: index)
        } else if reorder, let last = pair.items.last, last.isMessage {
            // Overtake the message queued just before this one.
            pair.items.insert(item, at: pair.items.count - 1)
        } else if reorder {
            item.heldForReorder = true
            item.notBefore = now + reorderHold
            pair.items.append(item)
        } else {
            pair.items.append(item)
        }
        insert(pair, for: sender)
        return .enqueued
    }

    /// Adds a peer event concerning `peer`; events do not count against capacity and are never refused while running.
    mutating func enqueueEvent(_ event: TransportEvent, concerning peer: TransportAddress) {
        guard running else { return }
        var pair = pairs[peer] ?? PairQueue()
        pair.items.append(Item(event: event, size: 0))
        insert(pair, for: peer)
    }

    private mutating func insert(_ pair: PairQueue, for sender: TransportAddress) {
        let wasEmpty = (pairs[sender]?.items.isEmpty ?? true)
        pairs[sender] = pair
        if wasEmpty && !pair.items.isEmpty { ready.append(sender) }
    }

    /// Takes the next deliverable item round-robin; returns it and the sender waiter it made room for.
    mutating func take(now: Duration) -> (TransportEvent, Waiter?)? {
        for index in ready.indices {
            let sender = ready[index]
            guard var pair = pairs[sender], let head = pair.items.first else { continue }
            if let notBefore = head.notBefore, notBefore > now { continue }
            pair.items.removeFirst()
            ready.remove(at: index)
            var released: Waiter?
            if head.isMessage {
                pair.messages -= 1
                pair.bytes -= head.size
                if pair.messages < capacity && pair.bytes < byteCapacity { released = pair.waiters.popFirst() }
            }
            if !pair.items.isEmpty { ready.append(sender) }
            pairs[sender] = pair
            return (head.event, released)
        }
        return nil
    }

    /// The earliest moment a queued item becomes deliverable, if every head is waiting.
    var earliestDeadline: Duration? {
        ready.compactMap { pairs[$0]?.items.first?.notBefore }.min()
    }

    mutating func addWaiter(_ waiter: Waiter, for sender: TransportAddress) {
        pairs[sender, default: PairQueue()].waiters.append(waiter)
    }

    /// Removes a waiter that timed out or was cancelled; `nil` if it was already released.
    mutating func removeWaiter(id: UInt64, for sender: TransportAddress) -> Waiter? {
        guard var pair = pairs[sender], let index = pair.waiters.firstIndex(where: { $0.id == id }) else { return nil }
        let waiter = pair.waiters.remove(at: index)
        pairs[sender] = pair
        return waiter
    }

    /// Whether `sender` has room for one more message.
    func hasRoom(for sender: TransportAddress) -> Bool {
        guard let pair = pairs[sender] else { return true }
        return pair.messages == 0 || (pair.messages < capacity && pair.bytes < byteCapacity)
    }

    /// Removes the waiters of one sender (it shut down).
    mutating func removeWaiters(from sender: TransportAddress) -> [Waiter] {
        // Nothing to copy when none waits; `Array(_:)` of an empty `Deque` also writes the count
        // into the shared empty-array storage, which ThreadSanitizer reports as a race.
        guard var pair = pairs[sender], !pair.waiters.isEmpty else { return [] }
        let waiters = Array(pair.waiters)
        pair.waiters.removeAll()
        pairs[sender] = pair
        return waiters
    }

    /// Stops receiving: returns every waiting sender and the receiver, and drops what is queued.
    mutating func close() -> (waiters: [Waiter], receiver: Receiver?) {
        running = false
        let waiters = pairs.values.flatMap(\.waiters)
        pairs.removeAll()
        ready.removeAll()
        defer { receiver = nil }
        return (waiters, receiver)
    }
}
