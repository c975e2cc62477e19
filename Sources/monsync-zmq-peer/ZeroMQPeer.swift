// A MonSync node over ZeroMQ in its own process, for multi-process tests and demos.
//
// It listens on one address, sends `--count` MMonSync HEARTBEATs to every `--peer`
// (sequence 1, 2, …), answers every HEARTBEAT it receives with a HEARTBEAT_REPLY,
// and exits once it has seen all requests and all replies from every peer (exit 0),
// or when `--timeout` passes first (exit 1). Its last stdout line is a summary:
//
//     RESULT listen=tcp://127.0.0.1:7001 requests=tcp://127.0.0.1:7002:100,… replies=… in_order=true malformed=0

#if ZeroMQ
import ArgumentParser
import Logging
import MonSyncCore
import MonSyncMessages
import MonSyncZeroMQ

@main
struct ZeroMQPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monsync-zmq-peer",
        abstract: "Exchange MMonSync heartbeats with other nodes over ZeroMQ, then exit."
    )

    @Option(help: "The address to listen on (tcp://127.0.0.1:PORT, ipc:///path).")
    var listen: String

    @Option(name: .customLong("peer"), help: "A peer's address (repeat for each peer).")
    var peers: [String] = []

    @Option(help: "Heartbeats to send to each peer.")
    var count = 100

    @Option(help: "Seconds to wait for everything before giving up.")
    var timeout = 30.0

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let localAddress = try TransportAddress(listen)
        let peerAddresses = try peers.map { try TransportAddress($0) }
        let options = TransportOptions(sendTimeout: .seconds(timeout))
        let transport = try ZeroMQTransport(address: localAddress, options: options)
        let tally = Tally(peers: peerAddresses)

        var router = MessageRouter()
        router.register(.heartbeat) { message, context in
            try await context.reply(MMonSync(op: .heartbeatReply, session: message.session, sequence: message.sequence))
            await tally.request(from: context.sender, sequence: message.sequence)
        }
        router.register(.heartbeatReply) { message, context in
            await tally.reply(from: context.sender, sequence: message.sequence)
        }
        let dispatcher = Dispatcher(transport: transport, codec: .monitor(), router: router)

        try await transport.start()
        let dispatching = Task { await dispatcher.run() }
        for peer in peerAddresses { try await transport.connect(to: peer) }

        let count = count
        let sending = Task {
            await withTaskGroup(of: Void.self) { group in
                for peer in peerAddresses {
                    group.addTask {
                        for sequence in 1...UInt64(count) {
                            do {
                                try await dispatcher.send(MMonSync(op: .heartbeat, session: 1, sequence: sequence), to: peer)
                            } catch {
                                await tally.sendFailed(to: peer, error: "\(error)")
                                return
                            }
                        }
                    }
                }
            }
        }

        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(timeout)
        while await !tally.isComplete(count: count), clock.now < deadline {
            try await clock.sleep(for: .milliseconds(20))
        }
        await sending.value
        let complete = await tally.isComplete(count: count)
        await transport.shutdown()
        await dispatching.value

        let malformed = dispatcher.statistics.snapshot.malformed.values.reduce(0, +)
        print("RESULT listen=\(localAddress) \(await tally.summary) malformed=\(malformed)")
        if !complete { throw ExitCode(1) }
    }
}

/// What this node has received, per peer; updated by handlers, read by the main task.
actor Tally {
    private var requests: [TransportAddress: UInt64] = [:]
    private var replies: [TransportAddress: UInt64] = [:]
    private var inOrder = true
    private var failures: [String] = []
    private let peers: [TransportAddress]

    init(peers: [TransportAddress]) { self.peers = peers }

    func request(from peer: TransportAddress, sequence: UInt64) {
        if sequence != requests[peer, default: 0] + 1 { inOrder = false }
        requests[peer] = sequence
    }

    func reply(from peer: TransportAddress, sequence: UInt64) {
        if sequence != replies[peer, default: 0] + 1 { inOrder = false }
        replies[peer] = sequence
    }

    func sendFailed(to peer: TransportAddress, error: String) { failures.append("\(peer): \(error)") }

    func isComplete(count: Int) -> Bool {
        peers.allSatisfy { requests[$0] == UInt64(count) && replies[$0] == UInt64(count) }
    }

    var summary: String {
        let requests = peers.map { "\($0)=\(self.requests[$0, default: 0])" }.joined(separator: ",")
        let replies = peers.map { "\($0)=\(self.replies[$0, default: 0])" }.joined(separator: ",")
        let failures = self.failures.isEmpty ? "" : " failures=\(self.failures.joined(separator: ";"))"
        return "requests=\(requests) replies=\(replies) in_order=\(inOrder)\(failures)"
    }
}
#else
import Glibc

@main
struct ZeroMQPeer {
    static func main() {
        print("monsync-zmq-peer: built without the ZeroMQ trait; rebuild with it enabled")
        exit(1)
    }
}
#endif
