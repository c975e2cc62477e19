import MonSyncCore
@testable import MonSyncZeroMQ
import MonSyncTestSupport
import Testing

@Suite("ZeroMQ context: many transports in one process")
struct ContextSocketLimitTests {
    /// libzmq allows 1 023 sockets a context by default; a transport takes 3 and 3 more per tcp
    /// peer. `monsync bench --clients 128` (1 536 sockets) found a third of its clients unable to
    /// open a DEALER, which then never reached a monitor: every send here must go through.
    @Test("100 transports, each talking to 3 peers, in one context (over 1 200 sockets)")
    func moreSocketsThanLibzmqsDefault() async throws {
        let context = ZeroMQContext()
        var receivers: [ZeroMQTransport] = []
        var senders: [ZeroMQTransport] = []
        for _ in 0..<3 {
            receivers.append(try await started(Addresses.make("tcp"), in: context))
        }
        let collectors = receivers.map(EventCollector.init)
        do {
            for _ in 0..<100 {
                senders.append(try await started(Addresses.make("tcp"), in: context))
            }
        } catch {
            await shutdown(senders + receivers)
            throw error
        }
        let addresses = receivers.map(\.localAddress)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in senders {
                group.addTask {
                    for address in addresses { try await sender.send([1, 2, 3], to: address) }
                }
            }
            try await group.waitForAll()
        }
        for collector in collectors {
            try await collector.wait("a message from each of the 100 senders", timeout: .seconds(60)) { _ in collector.messages.count == 100 }
        }
        await shutdown(senders + receivers)
    }

    /// All at once: each takes up to a quarter of a second to flush (ZeroMQTransport's linger).
    private func shutdown(_ transports: [ZeroMQTransport]) async {
        await withTaskGroup(of: Void.self) { group in
            for transport in transports { group.addTask { await transport.shutdown() } }
        }
    }

    private func started(_ address: TransportAddress, in context: ZeroMQContext) async throws -> ZeroMQTransport {
        let transport = try ZeroMQTransport(address: address, options: testOptions(), context: context)
        try await transport.start()
        return transport
    }
}
