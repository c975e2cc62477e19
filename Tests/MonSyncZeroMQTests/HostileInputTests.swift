#if ZeroMQ
import MonSyncCore
import MonSyncMessages
import MonSyncTestSupport
import MonSyncZeroMQ
import Synchronization
import Testing

/// A ZeroMQ peer that is not ours (pyzmq) sends garbage, corrupt frames, wrong frame counts,
/// bad routing ids and an oversize frame; the node counts and drops each, and keeps serving.
@Suite("ZeroMQ hostile input", .serialized, .timeLimit(.minutes(2)),
       .enabled("needs python3 with pyzmq (pip install pyzmq)") { await PythonZMQ.isAvailable })
struct HostileInputTests {
    /// Sends, from several DEALERs, everything a careless or hostile peer might.
    static let hostileScript = #"""
import sys, time, zmq
target, good_hex, oversize = sys.argv[1], sys.argv[2], int(sys.argv[3])
good = bytes.fromhex(good_hex)
ctx = zmq.Context()
def dealer(identity):
    s = ctx.socket(zmq.DEALER)
    if identity is not None:
        s.setsockopt(zmq.ROUTING_ID, identity)
    s.setsockopt(zmq.LINGER, 3000)
    s.connect(target)
    return s
d = dealer(b"tcp://127.0.0.1:1")
d.send(b"this is not a MonSync frame")                  # bad magic
d.send(good[: len(good) // 2])                          # truncated
corrupt = bytearray(good); corrupt[-1] ^= 0xFF
d.send(bytes(corrupt))                                  # CRC mismatch
d.send(b"")                                             # empty body: truncated
d.send_multipart([b"two", b"frames"])                   # [address, body] whose address is not one
d.send_multipart([b"", good])                           # REQ-style envelope: an empty address
d.send_multipart([b"tcp://127.0.0.1:1", b"x", good])    # three parts: wrong frame count
d.send(good)                                            # a good message from a foreign peer
bad = dealer(b"not an address"); bad.send(good)         # invalid routing id
weird = dealer(b"loopback://x"); weird.send(good)       # an address, but not a ZeroMQ one
anon = dealer(None); anon.send(good)                    # libzmq-generated id (starts with a zero byte)
big = dealer(b"tcp://127.0.0.1:2"); big.send(b"x" * oversize)  # above ZMQ_MAXMSGSIZE
time.sleep(1.0)
for s in (d, bad, weird, anon, big):
    s.close()
ctx.term()
print("sent")
"""#

    @Test("hostile frames are counted and dropped; a good peer is still served through the dispatcher")
    func hostilePeer() async throws {
        let limit = 1 << 20
        let node = try await startedTransport("tcp", options: testOptions(maximumMessageSize: limit))
        let good = try await startedTransport("tcp")
        let handled = LockedState<[TransportAddress: [UInt64]]>([:])
        var router = MessageRouter()
        router.register(.heartbeatReply) { message, context in
            handled.withLock { $0[context.sender, default: []].append(message.sequence) }
        }
        let dispatcher = Dispatcher(transport: node, codec: .monitor(), router: router)
        let dispatching = Task { await dispatcher.run() }

        let goodFrame = MessageCodec.monitor().encode(MMonSync(op: .heartbeatReply, sequence: 42))
        let hex = goodFrame.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let python = try await runProcess(PythonZMQ.python, ["python3", "-c", Self.hostileScript,
                                                             node.localAddress.description, hex, String(2 * limit)],
                                          timeout: .seconds(30))
        #expect(python.status == 0, "python failed: \(python.stderr)")
        #expect(python.stdout.contains("sent"))

        // The good Swift peer is served while (and after) the hostile one misbehaves.
        let goodDispatcher = Dispatcher(transport: good, codec: .monitor())
        for sequence in 1...10 as ClosedRange<UInt64> {
            try await goodDispatcher.send(MMonSync(op: .heartbeatReply, sequence: sequence), to: node.localAddress)
        }
        try await eventually("the good peer's messages", timeout: .seconds(10)) {
            handled.withLock { $0[good.localAddress]?.count == 10 }
        }

        let foreign: TransportAddress = "tcp://127.0.0.1:1"
        try await eventually("the foreign good message") { handled.withLock { $0[foreign] == [42] } }
        // Nothing from the bad routing ids reached a handler.
        #expect(handled.withLock { Set($0.keys) } == [good.localAddress, foreign])
        #expect(handled.withLock { $0[good.localAddress] } == Array(1...10))

        // The dispatcher counted the malformed MonSync bytes, by kind.
        let dispatch = dispatcher.statistics.snapshot
        #expect(dispatch.malformed["bad_magic"] == 1)
        #expect(dispatch.malformed["truncated"] == 2)
        #expect(dispatch.malformed["crc_mismatch"] == 1)
        #expect(dispatch.handled == 11)

        // The transport counted what it dropped itself.
        let stats = node.statistics
        #expect(stats.droppedWrongFrameCount == 1)
        #expect(stats.droppedInvalidSender == 5)
        #expect(stats.messagesReceived == 5 + 10)
        #expect(stats.bytesReceived < limit, "the oversize frame must not be delivered")
        try await eventually("the oversize sender's connection to be dropped") { node.statistics.inboundDisconnects >= 1 }

        await node.shutdown()
        await good.shutdown()
        await dispatching.value
    }

    /// A pyzmq ROUTER that answers on our outbound DEALER, which must carry no inbound traffic.
    static let routerScript = #"""
import sys, zmq
ctx = zmq.Context()
r = ctx.socket(zmq.ROUTER)
r.setsockopt(zmq.LINGER, 3000)
r.bind(sys.argv[1])
r.setsockopt(zmq.RCVTIMEO, 20000)
identity, sender, body = r.recv_multipart()             # [connection id, sender address, body]
print("from", sender.decode(), "got", body.decode(), flush=True)
r.send_multipart([identity, b"talking back on your DEALER"])
r.send_multipart([identity, b"and", b"again"])
r.recv_multipart()                                  # wait for the node's second message
r.close()
ctx.term()
"""#

    @Test("a foreign ROUTER receives our messages as [our address, body]; its answers on our DEALER are dropped")
    func foreignRouter() async throws {
        let node = try await startedTransport("tcp")
        let foreign = Addresses.make("tcp")
        let python = Task {
            try await runProcess(PythonZMQ.python, ["python3", "-c", Self.routerScript, foreign.description],
                                 timeout: .seconds(30))
        }
        try await node.send(Array("hello".utf8), to: foreign)
        try await eventually("the unexpected answers to be dropped") { node.statistics.droppedUnexpected == 2 }
        try await node.send(Array("bye".utf8), to: foreign)
        let result = try await python.value
        #expect(result.status == 0, "python failed: \(result.stderr)")
        #expect(result.stdout.contains("from \(node.localAddress) got hello"))
        await node.shutdown()
    }
}
#endif

#if ZeroMQ
import Foundation
import Glibc

/// A peer whose process freezes (SIGSTOP: its TCP connections stay open, but it answers nothing)
/// is found dead by ZMTP heartbeats, reported down, and reported up again once it resumes.
@Suite("ZeroMQ heartbeats", .timeLimit(.minutes(1)),
       .enabled("needs python3 with pyzmq (pip install pyzmq)") { await PythonZMQ.isAvailable })
struct HeartbeatTests {
    static let listenerScript = #"""
import sys, time, zmq
ctx = zmq.Context()
r = ctx.socket(zmq.ROUTER)
r.setsockopt(zmq.LINGER, 0)
r.bind(sys.argv[1])
print("bound", flush=True)
time.sleep(30)
"""#

    @Test("a frozen peer is reported down by heartbeat timeout, and up again when it thaws")
    func frozenPeer() async throws {
        let configuration = ZeroMQConfiguration(reconnectIntervalMax: .milliseconds(200),
                                                heartbeatInterval: .milliseconds(100),
                                                heartbeatTimeout: .milliseconds(600))
        let node = try await startedTransport("tcp", configuration: configuration)
        let events = EventCollector(node)
        let peer = Addresses.make("tcp")
        let process = try await ChildProcess.start(PythonZMQ.python, arguments: ["python3", "-c", Self.listenerScript, peer.description])
        defer { process.signal(SIGKILL) }

        try await node.connect(to: peer)
        try await events.wait("peer up", timeout: .seconds(15)) { _ in events.ups(of: peer) == 1 }
        kill(process.processIdentifier, SIGSTOP)
        let clock = ContinuousClock()
        let stopped = clock.now
        try await events.wait("peer down after the heartbeat timeout") { _ in events.downs(of: peer) == 1 }
        #expect(stopped.duration(to: clock.now) < .seconds(5))
        kill(process.processIdentifier, SIGCONT)
        try await events.wait("peer up after it resumed") { _ in events.ups(of: peer) == 2 }
        #expect(events.events.compactMap { event -> String? in
            switch event {
            case .peerUp(peer): "up"
            case .peerDown(peer): "down"
            default: nil
            }
        } == ["up", "down", "up"])
        await node.shutdown()
    }
}
#endif
