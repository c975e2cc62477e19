import Foundation
import MonSyncCore
import MonSyncLoopback
import MonSyncSimulation
import MonSyncStore
import MonSyncTransportConformance
import Testing
#if ZeroMQ
import MonSyncZeroMQ
#endif

// The code of the modules' landing pages (Sources/<Module>/<Module>.docc/<Module>.md). The blocks
// there are copies of the marked lines: change both.

/// MonSyncLoopback.md: two endpoints on a seeded, faulty network.
func loopbackPair(frame: [UInt8]) async throws -> (LoopbackTransport, LoopbackTransport) {
    // snippet: loopback-network
    let network = LoopbackNetwork(seed: 42, faults: LoopbackFaults(drop: 0.01))
    let a = LoopbackTransport(address: "loopback://a", network: network)
    let b = LoopbackTransport(address: "loopback://b", network: network)
    try await a.start()
    try await b.start()
    try await a.send(frame, to: b.localAddress)
    // snippet: end
    return (a, b)
}

/// MonSyncStore.md: a durable store, a transaction, a digest.
func storeTransaction(directory: String) throws -> StoreDigest {
    // snippet: store-transaction
    let store = try RocksDBStore(path: directory)       // creates the database, or opens it
    var transaction = StoreTransaction()
    transaction.put("kv", "color", Array("blue".utf8))
    try store.apply(transaction)                       // atomic and durable
    let digest = try store.digest(of: ["kv"])
    // snippet: end
    return digest
}

#if ZeroMQ
/// MonSyncZeroMQ.md: the factory in a registry.
func zeroMQFromRegistry() throws -> any MessageTransport {
    // snippet: zeromq-factory
    var registry = TransportRegistry()
    registry.register(ZeroMQTransportFactory())
    let transport = try registry.makeTransport(listeningOn: "tcp://127.0.0.1:6789")
    // snippet: end
    return transport
}
#endif

/// MonSyncTransportConformance.md: one check of the kit on the loopback transport.
func runOneConformanceCheck(network: LoopbackNetwork) async throws {
    // snippet: conformance-kit
    let kit = TransportConformance(
        name: "loopback",
        makeAddress: { name in try TransportAddress("loopback://kit-\(name)") },
        makeTransport: { address, options in LoopbackTransport(address: address, network: network, options: options) })
    try await kit.run(.perPairOrdering)    // one check; kit.runAll() runs them all and returns the failures
    // snippet: end
}

/// MonSyncSimulation.md: a campaign of seeds. Compiled, not run: twenty seeds of five monitors
/// take longer than this suite should (the simulation tests run their own).
func simulationCampaign() {
    // snippet: simulation-campaign
    var options = SimulationOptions()
    options.monitors = 5
    let summary = SimulationCampaign(options: options).run(seeds: 1...20)
    print(summary.line)                // simulate: 20 seeds, … steps, … client operations, …, 0 violations
    for failure in summary.failures {  // each replays identically from its seed
        print(failure.seed, failure.violations)
    }
    // snippet: end
}

@Suite("Documentation: the modules' landing pages")
struct ModuleSnippetTests {
    @Test("MonSyncLoopback: the frame sent from a arrives at b")
    func loopbackNetwork() async throws {
        let (a, b) = try await loopbackPair(frame: MessageCodecFrames.heartbeat)
        var events = b.events.makeAsyncIterator()
        guard case let .message(message)? = await events.next() else {
            Issue.record("nothing arrived")
            return
        }
        #expect(message.sender == a.localAddress && message.bytes == MessageCodecFrames.heartbeat)
        await a.shutdown()
        await b.shutdown()
    }

    @Test("MonSyncStore: the committed key is in the digest")
    func storeDigest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-doc-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let digest = try storeTransaction(directory: directory)
        let memory = InMemoryStore()
        try memory.put("kv", "color", Array("blue".utf8))
        #expect(digest == (try memory.digest(of: ["kv"])), "RocksDB and memory agree on the one key")
    }

    #if ZeroMQ
    @Test("MonSyncZeroMQ: the registry makes a ZeroMQ transport for tcp://")
    func zeroMQFactory() throws {
        let transport = try zeroMQFromRegistry()
        #expect(transport is ZeroMQTransport && transport.localAddress == "tcp://127.0.0.1:6789")
    }
    #endif

    @Test("MonSyncTransportConformance: the loopback transport passes the check")
    func conformanceKit() async {
        await #expect(throws: Never.self) { try await runOneConformanceCheck(network: LoopbackNetwork()) }
    }
}
