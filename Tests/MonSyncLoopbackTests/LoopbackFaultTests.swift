import Clocks
import MonSyncCore
import MonSyncLoopback
import Testing

@Suite("Loopback fault injection", .timeLimit(.minutes(3)))
struct LoopbackFaultTests {
    /// Sends 0..<count from a to b over `network` and returns what b received once everything settled.
    func exchange(_ network: LoopbackNetwork, count: Int, clock: TestClock<Duration>? = nil,
                  advance: Duration = .zero) async throws -> [Int] {
        let options = clock.map { TransportOptions(clock: $0) } ?? TransportOptions()
        let a = LoopbackTransport(address: "loopback://a", network: network, options: options)
        let b = LoopbackTransport(address: "loopback://b", network: network, options: options)
        try await a.start()
        try await b.start()
        let collector = EventCollector(b)
        for n in 0..<count { try await a.send(numbered(1, n), to: "loopback://b") }
        await settle()
        if let clock, advance > .zero {
            await clock.advance(by: advance)
            await settle()
        }
        await a.shutdown()
        await settle()
        let received = collector.messages.map { number(of: $0).n }
        await b.shutdown()
        return received
    }

    @Test("drops are reproducible from the seed")
    func seededDrops() async throws {
        let faults = LoopbackFaults(drop: 0.3)
        let first = try await exchange(LoopbackNetwork(seed: 42, faults: faults), count: 500)
        let again = try await exchange(LoopbackNetwork(seed: 42, faults: faults), count: 500)
        let other = try await exchange(LoopbackNetwork(seed: 43, faults: faults), count: 500)
        #expect(first == again)
        #expect(first != other)
        #expect((250...450).contains(first.count), "about 70% of 500 delivered, got \(first.count)")
        #expect(first == first.sorted(), "drops never reorder")
    }

    @Test("duplication delivers a message twice, adjacently")
    func duplicates() async throws {
        let network = LoopbackNetwork(seed: 1, faults: LoopbackFaults(duplicate: 1))
        let received = try await exchange(network, count: 5)
        #expect(received == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
        #expect(network.statistics.duplicated == 5)
    }

    @Test("reordering swaps a message with the next one on its link")
    func reorders() async throws {
        let network = LoopbackNetwork(seed: 1, faults: LoopbackFaults(reorder: 1))
        let received = try await exchange(network, count: 2)
        #expect(received == [1, 0])
        let many = try await exchange(LoopbackNetwork(seed: 9, faults: LoopbackFaults(reorder: 0.2)), count: 300,
                                      clock: TestClock(), advance: .seconds(1))
        #expect(many.sorted() == Array(0..<300), "reordering loses nothing")
        #expect(many != Array(0..<300))
    }

    @Test("a held message is delivered after the reorder hold when nothing overtakes it")
    func reorderHoldExpires() async throws {
        let clock = TestClock()
        let network = LoopbackNetwork(seed: 1, faults: LoopbackFaults(reorder: 1, reorderHold: .milliseconds(20)))
        let received = try await exchange(network, count: 1, clock: clock, advance: .milliseconds(20))
        #expect(received == [0])
    }

    @Test("delays hold a link back on the test clock and keep its order")
    func delays() async throws {
        let clock = TestClock()
        let network = LoopbackNetwork(seed: 3, faults: LoopbackFaults(delay: 1, delayRange: .milliseconds(100)...(.milliseconds(100))))
        let options = TransportOptions(clock: clock)
        let a = LoopbackTransport(address: "loopback://a", network: network, options: options)
        let b = LoopbackTransport(address: "loopback://b", network: network, options: options)
        try await a.start()
        try await b.start()
        let collector = EventCollector(b)
        for n in 0..<3 { try await a.send(numbered(1, n), to: "loopback://b") }
        await settle()
        #expect(collector.messages.isEmpty, "nothing before the delay elapses")
        await clock.advance(by: .milliseconds(99))
        await settle()
        #expect(collector.messages.isEmpty)
        await clock.advance(by: .milliseconds(1))
        await collector.wait("delayed messages") { collector.messages.count == 3 }
        #expect(collector.messages.map { number(of: $0).n } == [0, 1, 2])
        #expect(network.statistics.delayed == 3)
        await a.shutdown()
        await b.shutdown()
    }

    @Test("a partition fails sends both ways, reports peers down, and heals")
    func partition() async throws {
        let network = LoopbackNetwork()
        let a = LoopbackTransport(address: "loopback://a", network: network)
        let b = LoopbackTransport(address: "loopback://b", network: network)
        try await a.start()
        try await b.start()
        let events = EventCollector(a)
        try await a.send([1], to: "loopback://b")
        await events.wait("b up") { events.peerEvents == [.up("loopback://b")] }
        network.partition(["loopback://a"], from: ["loopback://b"])
        await #expect(throws: TransportError.peerUnreachable("loopback://b")) { try await a.send([2], to: "loopback://b") }
        await #expect(throws: TransportError.peerUnreachable("loopback://a")) { try await b.send([3], to: "loopback://a") }
        await events.wait("b down") { events.peerEvents.count == 2 }
        network.heal()
        await events.wait("b up again") { events.peerEvents.count == 3 }
        #expect(events.peerEvents == [.up("loopback://b"), .down("loopback://b"), .up("loopback://b")])
        try await a.send([4], to: "loopback://b")
        #expect(network.statistics.refusedByPartition == 2)
        await a.shutdown()
        await b.shutdown()
    }

    @Test("faults can be set per link")
    func perLinkFaults() async throws {
        let network = LoopbackNetwork()
        network.setFaults(LoopbackFaults(drop: 1), from: "loopback://a", to: "loopback://b")
        let received = try await exchange(network, count: 10)
        #expect(received.isEmpty)
        network.setFaults(nil, from: "loopback://a", to: "loopback://b")
        #expect(try await exchange(network, count: 3) == [0, 1, 2])
    }
}
