import MonSyncCore
import MonSyncLoopback
import Testing

@Suite("Transport addresses and registry")
struct TransportRegistryTests {
    @Test("addresses parse into scheme and location", arguments: [
        ("loopback://a", "loopback", "a"),
        ("tcp://127.0.0.1:7001", "tcp", "127.0.0.1:7001"),
        ("IPC:///run/monsync/a.sock", "ipc", "/run/monsync/a.sock"),
        ("inproc://node-b", "inproc", "node-b"),
    ])
    func parse(text: String, scheme: String, location: String) throws {
        let address = try TransportAddress(text)
        #expect(address.scheme == scheme)
        #expect(address.location == location)
        #expect(try TransportAddress(address.description) == address)
    }

    @Test("malformed addresses are refused with a reason", arguments: ["", "tcp:/x", "://x", "tcp://", "1tcp://x", "t cp://x",
                                                                      "tcp://" + String(repeating: "x", count: 241)])
    func refuse(text: String) {
        #expect {
            try TransportAddress(text)
        } throws: { error in
            if case .invalidAddress(text, _) = error as? TransportError { true } else { false }
        }
    }

    @Test("the registry picks the transport from the scheme")
    func picksByScheme() throws {
        var registry = TransportRegistry()
        registry.register(LoopbackTransportFactory(network: LoopbackNetwork()))
        #expect(registry.schemes == ["loopback"])
        let transport = try registry.makeTransport(listeningOn: "loopback://x")
        #expect(transport is LoopbackTransport)
        #expect(transport.localAddress == "loopback://x")
        #expect(throws: TransportError.unsupportedScheme("carrier-pigeon", known: ["loopback"])) {
            try registry.makeTransport(listeningOn: "carrier-pigeon://coop")
        }
    }
}
