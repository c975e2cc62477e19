import MonSyncCore
import MonSyncLoopback
import MonSyncTransportConformance
import Testing

/// The kit is only worth what it catches: each broken transport fails its check, with a report, in bounded time.
@Suite("The kit detects contract violations")
struct KitDetectsViolationsTests {
    static let cases: [(Fault, ConformanceCheck)] = [
        (.reordersPairs, .perPairOrdering),
        (.dropsEveryHundredth, .perPairOrdering),
        (.corruptsLargeMessages, .hugeMessage),
        (.reportsWrongSender, .exchangeBothWays),
        (.ignoresItsSizeLimit, .messageTooLarge),
        (.swallowsPeerEvents, .connectReportsPeerUp),
        (.swallowsPeerEvents, .peerDown),
        (.swallowsPeerEvents, .peerRestart),
        (.allowsDoubleStart, .doubleStart),
        (.hangsOnUnknownPeer, .unknownPeer),
        (.hangsOnUnknownPeer, .shutdownWhileBusy),
        (.hangsOnShutdown, .sendAfterShutdown),
        (.neverFinishesEvents, .sendAfterShutdown),
        (.queuesWithoutBound, .backpressure),
        (.queuesWithoutBound, .shutdownWhileBusy),
        (.ignoresInjectedClock, .sendTimeoutFollowsClock),
    ]

    @Test(arguments: cases)
    func brokenTransportFails(_ fault: Fault, _ check: ConformanceCheck) async throws {
        let network = LoopbackNetwork()
        let configuration = TransportConformance.Configuration(
            hugeMessageSize: 4 << 20, orderedMessageCount: 500, timeout: .seconds(2),
            sendTimeout: .milliseconds(300), promptness: .seconds(1))
        let kit = TransportConformance(
            name: "faulty(\(fault))", configuration: configuration,
            makeAddress: { try TransportAddress("loopback://\($0)") },
            makeTransport: { FaultyTransport(address: $0, network: network, options: $1, fault: fault) })
        let clock = ContinuousClock()
        let start = clock.now
        let failure = await #expect(throws: ConformanceFailure.self) { try await kit.run(check) }
        let elapsed = start.duration(to: clock.now)
        #expect(failure?.check == check)
        #expect(failure?.transport == "faulty(\(fault))")
        #expect(failure?.description.contains(check.rawValue) == true)
        // Bounded, never a hang: a few of the configured 2 s waits. The bound is generous because
        // these cases run in parallel on a 2-core machine that may be busy with other builds.
        #expect(elapsed < .seconds(60), "took \(elapsed)")
    }

    @Test func wellBehavedTransportPassesTheSameChecks() async throws {
        // The same configuration passes with the loopback transport itself, so the failures above come from the faults.
        for check in Set(Self.cases.map(\.1)) {
            let network = LoopbackNetwork()
            let kit = TransportConformance(
                name: "loopback",
                configuration: .init(hugeMessageSize: 4 << 20, orderedMessageCount: 500, timeout: .seconds(2),
                                     sendTimeout: .milliseconds(300), promptness: .seconds(1)),
                makeAddress: { try TransportAddress("loopback://\($0)") },
                makeTransport: { LoopbackTransport(address: $0, network: network, options: $1) })
            try await kit.run(check)
        }
    }
}
