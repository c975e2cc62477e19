import Logging
import MonSyncCore
import MonSyncMessages
@testable import MonSyncMonitor
import MonSyncTestSupport
import Testing

/// A transport whose posts wait until the test completes them: the outbox's batching, order,
/// bounds and failures, step by step, without a clock.
private final class HeldTransport: MessageTransport {
    struct Post {
        var messages: [[UInt8]]
        var peer: TransportAddress
        var completion: @Sendable (TransportBatchResult) -> Void
    }

    let localAddress: TransportAddress
    let limits = TransportLimits(maximumMessageSize: 1 << 20)
    private let posts = LockedState<[Post]>([])

    init(_ address: TransportAddress) { localAddress = address }

    func start() async throws(TransportError) {}
    func connect(to peer: TransportAddress) async throws(TransportError) {}
    func send(_ bytes: [UInt8], to peer: TransportAddress) async throws(TransportError) {
        Issue.record("the outbox must post, not send")
    }
    var events: TransportEvents { TransportEvents { nil } }
    func shutdown() async {}

    func post(_ messages: [[UInt8]], to peer: TransportAddress, completion: @escaping @Sendable (TransportBatchResult) -> Void) {
        posts.withLock { $0.append(Post(messages: messages, peer: peer, completion: completion)) }
    }

    /// The posts not yet completed, oldest first.
    var held: [Post] { posts.withLock { $0 } }

    /// Completes the oldest post to `peer` with `result` (all sent when `nil`); returns its messages.
    @discardableResult
    func complete(to peer: TransportAddress, _ result: TransportBatchResult? = nil) -> [[UInt8]] {
        let post = posts.withLock { posts -> Post? in
            guard let index = posts.firstIndex(where: { $0.peer == peer }) else { return nil }
            return posts.remove(at: index)
        }
        guard let post else {
            Issue.record("no post to \(peer) waits")
            return []
        }
        post.completion(result ?? TransportBatchResult(sent: post.messages.count))
        return post.messages
    }
}

@Suite("PeerOutbox: batches per destination")
struct PeerOutboxTests {
    let peer: TransportAddress = "loopback://mon.b"
    let other: TransportAddress = "loopback://mon.c"
    let client: TransportAddress = "loopback://client.1"

    private func outbox(capacity: Int = 4096, maximumBatch: Int = 256) throws -> (PeerOutbox, HeldTransport, Dispatcher) {
        let transport = HeldTransport("loopback://mon.a")
        let dispatcher = Dispatcher(transport: transport, codec: .monitor())
        let outbox = PeerOutbox(dispatcher: dispatcher, logger: Logger(label: "test"), peers: [peer, other],
                                capacity: capacity, maximumBatch: maximumBatch)
        return (outbox, transport, dispatcher)
    }

    private func message(_ version: UInt64) -> MMonPaxos {
        MMonPaxos(op: .commit, epoch: 2, firstCommitted: 1, lastCommitted: version)
    }

    @Test("one batch in flight per destination; what queues meanwhile goes as the next batch, in order")
    func batchesInOrder() throws {
        let (outbox, transport, dispatcher) = try outbox()
        for version in 1...10 { outbox.send(message(UInt64(version)), to: peer) }
        outbox.send(message(100), to: other)
        // The first message went at once; the next nine wait for it; the other peer's does not.
        #expect(transport.held.map(\.messages.count) == [1, 1])
        var delivered = transport.complete(to: peer)
        #expect(transport.held.filter { $0.peer == peer }.map(\.messages.count) == [9])
        delivered += transport.complete(to: peer)
        #expect(transport.held.filter { $0.peer == peer }.isEmpty)
        let expected = try (1...10).map { try dispatcher.encode(message(UInt64($0))) }
        #expect(delivered == expected)
        #expect(transport.complete(to: other) == [try dispatcher.encode(message(100))])
        #expect(outbox.batchesPosted == 3)
        #expect(outbox.sendFailures == 0)
    }

    @Test("a batch holds at most maximumBatch messages; nothing is lost")
    func maximumBatch() throws {
        let (outbox, transport, dispatcher) = try outbox(maximumBatch: 4)
        for version in 1...11 { outbox.send(message(UInt64(version)), to: peer) }
        var sizes: [Int] = []
        var delivered: [[UInt8]] = []
        while !transport.held.isEmpty {
            let batch = transport.complete(to: peer)
            sizes.append(batch.count)
            delivered += batch
        }
        #expect(sizes == [1, 4, 4, 2])
        #expect(delivered == (try (1...11).map { try dispatcher.encode(message(UInt64($0))) }))
    }

    @Test("past the capacity a message is dropped and counted; a failed batch is counted and the next goes on")
    func boundsAndFailures() throws {
        let (outbox, transport, dispatcher) = try outbox(capacity: 3)
        for version in 1...5 { outbox.send(message(UInt64(version)), to: peer) }
        // 1 in flight, 2…4 waiting, 5 dropped.
        #expect(outbox.sendFailures == 1)
        transport.complete(to: peer, TransportBatchResult(sent: 0, failure: .peerUnreachable(peer)))
        #expect(outbox.sendFailures == 2)
        // A failed batch does not stop the queue: 2…4 go next, of which 1 is sent before a failure.
        let batch = transport.complete(to: peer, TransportBatchResult(sent: 1, failure: .sendTimedOut(peer, after: .seconds(1))))
        #expect(batch == (try (2...4).map { try dispatcher.encode(message(UInt64($0))) }))
        #expect(outbox.sendFailures == 4)
        outbox.send(message(6), to: peer)
        #expect(transport.complete(to: peer) == [try dispatcher.encode(message(6))])
    }

    @Test("a client's queue closes once drained; a peer's stays")
    func clientQueuesClose() throws {
        let (outbox, transport, _) = try outbox()
        outbox.send(MMonCommandReply(op: .put, tid: 1, result: .ok), to: client)
        outbox.send(MMonCommandReply(op: .put, tid: 2, result: .ok), to: client)
        outbox.send(message(1), to: peer)
        #expect(outbox.openQueues == 2)
        transport.complete(to: client)
        transport.complete(to: client)
        transport.complete(to: peer)
        #expect(outbox.openQueues == 1)
    }

    @Test("close lets the queued messages go out and returns once nothing is in flight; later sends are dropped")
    func closeDrains() async throws {
        let (outbox, transport, _) = try outbox()
        for version in 1...3 { outbox.send(message(UInt64(version)), to: peer) }
        let closing = Task { await outbox.close() }
        try await eventually("close() has begun") { outbox.openQueues == 1 && transport.held.count == 1 && !outbox.isAccepting }
        outbox.send(message(4), to: peer)
        #expect(transport.complete(to: peer).count == 1)
        // The two queued before close still go, as one batch; message 4 does not.
        #expect(transport.complete(to: peer).count == 2)
        await closing.value
        #expect(transport.held.isEmpty)
        #expect(outbox.openQueues == 0)
    }
}
