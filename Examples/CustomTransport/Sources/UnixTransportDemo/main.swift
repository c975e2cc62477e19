// unix-transport-demo: picks transports from URLs through a TransportRegistry and exchanges one
// MMonSync heartbeat between two endpoints in this process.
//
//   swift run unix-transport-demo unix:///tmp/monsync-demo-a.sock unix:///tmp/monsync-demo-b.sock
//
// A URL whose scheme no registered factory serves (tcp://…) is refused with the list of known schemes:
// a program that registers more factories serves more schemes without other changes.

#if canImport(Glibc)
import Glibc
#endif
import MonSyncCore
import MonSyncMessages
import UnixSocketTransport

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2 else {
    print("usage: unix-transport-demo <url-a> <url-b>   e.g. unix:///tmp/monsync-demo-a.sock unix:///tmp/monsync-demo-b.sock")
    exit(2)
}

var registry = TransportRegistry()
registry.register(UnixSocketTransportFactory())

let nodes: [Dispatcher]
do {
    nodes = try arguments.map { url in
        let transport = try registry.makeTransport(listeningOn: TransportAddress(url))
        print("\(url): \(type(of: transport)) chosen by its scheme '\(transport.localAddress.scheme)'")
        return Dispatcher(transport: transport, codec: .monitor())
    }
} catch {
    print("error: \(error)")
    exit(2)
}
let (a, b) = (nodes[0], nodes[1])

// b answers heartbeats; a waits for the answer.
b.register { router in
    router.register(.heartbeat) { message, context in
        print("b: heartbeat (session \(message.session)) from \(context.sender)")
        try await context.reply(MMonSync(op: .heartbeatReply, session: message.session))
    }
}
let (replies, replied) = AsyncStream.makeStream(of: MMonSync.self)
a.register { router in
    router.register(.heartbeatReply) { message, context in
        print("a: heartbeat_reply (session \(message.session)) from \(context.sender)")
        replied.yield(message)
    }
    router.onPeerEvent { event, _ in print("a: peer event \(event)") }
}

do {
    for node in nodes { try await node.transport.start() }
} catch {
    print("error: \(error)")
    exit(1)
}
let running = nodes.map { node in Task { await node.run() } }

do {
    try await a.send(MMonSync(op: .heartbeat, session: 42), to: b.transport.localAddress)
} catch {
    print("error: \(error)")
}
let timeout = Task {
    try await Task.sleep(for: .seconds(5))
    replied.finish()
}
var reply: MMonSync?
for await message in replies {
    reply = message
    break
}
timeout.cancel()

for node in nodes { await node.transport.shutdown() }
for task in running { await task.value }
print("a sent \(a.statistics.snapshot.sent), b handled \(b.statistics.snapshot.handled)")
if reply == nil {
    print("error: no reply within 5 s")
    exit(1)
}
print("ok")
