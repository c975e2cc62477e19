#if ZeroMQ
import MonSyncCore
import MonSyncLoopback
import MonSyncMonitor
import MonSyncStore
import MonSyncZeroMQ
import Testing

// The code of README.md ("Choosing a transport") and of the article ChoosingATransport.md in
// MonSyncCore.docc. The blocks in those files are copies of the marked lines: change both.

/// README.md and the article: a transport picked by the scheme of a configured address.
func chooseTransport(configuredAddress: String, monmap: MonMap, store: any MonitorStore) throws -> Monitor {
    // snippet: choosing-a-transport
    var registry = TransportRegistry()
    registry.register(LoopbackTransportFactory())          // loopback://
    registry.register(ZeroMQTransportFactory())            // tcp://, ipc://, inproc://
    let transport = try registry.makeTransport(listeningOn: TransportAddress(configuredAddress))
    let monitor = try Monitor(monmap: monmap, name: "a", transport: transport, store: store)
    // snippet: end
    return monitor
}

/// The article: options every transport honours.
func makeTransportWithOptions(registry: TransportRegistry) throws -> any MessageTransport {
    // snippet: transport-options
    let options = TransportOptions(sendTimeout: .seconds(5), queueCapacity: 256)
    let transport = try registry.makeTransport(listeningOn: "tcp://127.0.0.1:7001", options: options)
    // snippet: end
    return transport
}

/// The article: a seeded, faulty loopback network, partitioned and healed.
func partitionLoopback() async throws -> (LoopbackNetwork, [any MessageTransport]) {
    // snippet: loopback-faults
    let network = LoopbackNetwork(seed: 7, faults: LoopbackFaults(drop: 0.01, duplicate: 0.01))
    var registry = TransportRegistry()
    registry.register(LoopbackTransportFactory(network: network))
    let a = try registry.makeTransport(listeningOn: "loopback://a")
    let b = try registry.makeTransport(listeningOn: "loopback://b")
    try await a.start()
    try await b.start()

    network.partition([a.localAddress], from: [b.localAddress])   // a and b see each other go down
    network.heal()                                                 // and come back
    // snippet: end
    return (network, [a, b])
}

/// The article: CURVE keys for the ZeroMQ transport.
func secureZeroMQRegistry() throws -> (TransportRegistry, CurveKeyring, CurveKeyPair) {
    // snippet: zeromq-curve
    let keyPair = try CurveKeyPair.generate()
    let keyring = try CurveKeyring(
        peers: [PeerIdentity(name: "a", role: .monitor, credential: keyPair.publicKey)],
        addressKeys: ["tcp://127.0.0.1:7001": keyPair.publicKey])
    let configuration = ZeroMQConfiguration(security: ZeroMQSecurity(keyPair: keyPair, keyring: keyring))
    var registry = TransportRegistry()
    registry.register(ZeroMQTransportFactory(configuration: configuration))
    // snippet: end
    return (registry, keyring, keyPair)
}

/// The snippets above, run: what they build is what the text says.
@Suite("Documentation: choosing a transport")
struct ChoosingATransportSnippetTests {
    @Test("the README's registry picks loopback or ZeroMQ by scheme and refuses an unknown one")
    func readmeSnippetRuns() throws {
        let monmap = try MonMap(parsing: "a=loopback://doc-readme-a,b=loopback://doc-readme-b")
        let onLoopback = try chooseTransport(configuredAddress: "loopback://doc-readme-a", monmap: monmap, store: InMemoryStore())
        #expect(onLoopback.name == "a")
        #expect(onLoopback.dispatcher.transport is LoopbackTransport)

        let tcpMap = try MonMap(parsing: "a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002")
        let onZeroMQ = try chooseTransport(configuredAddress: "tcp://127.0.0.1:7001", monmap: tcpMap, store: InMemoryStore())
        #expect(onZeroMQ.dispatcher.transport is ZeroMQTransport)

        #expect {
            _ = try chooseTransport(configuredAddress: "unix:///tmp/a.sock", monmap: monmap, store: InMemoryStore())
        } throws: { error in
            guard case TransportError.unsupportedScheme("unix", let known) = error else { return false }
            return known == ["inproc", "ipc", "loopback", "tcp"]
        }
    }

    @Test("options reach the transport the registry makes")
    func optionsSnippetRuns() throws {
        var registry = TransportRegistry()
        registry.register(ZeroMQTransportFactory())
        let transport = try makeTransportWithOptions(registry: registry)
        #expect(transport is ZeroMQTransport)
        #expect(transport.localAddress == "tcp://127.0.0.1:7001")
    }

    @Test("the loopback network is cut and healed, and works afterwards")
    func loopbackSnippetRuns() async throws {
        let (network, endpoints) = try await partitionLoopback()
        #expect(network.addresses == ["loopback://a", "loopback://b"])
        try await endpoints[0].send(MessageCodecFrames.heartbeat, to: endpoints[1].localAddress)
        #expect(network.statistics.sent == 1, "a send crosses the healed network")
        for endpoint in endpoints { await endpoint.shutdown() }
    }

    @Test("the keyring admits the key with the monitor role and binds it to the address")
    func curveSnippetRuns() throws {
        let (registry, keyring, keyPair) = try secureZeroMQRegistry()
        #expect(registry.schemes == ["inproc", "ipc", "tcp"])
        #expect(keyring.peer(forKey: keyPair.publicKey)?.role == .monitor)
        #expect(keyring.key(for: "tcp://127.0.0.1:7001") == keyPair.publicKey)
    }
}
#endif
