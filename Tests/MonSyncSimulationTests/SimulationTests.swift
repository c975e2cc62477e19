@_spi(Testing) import MonSyncMonitor
@testable @_spi(Testing) import MonSyncSimulation
@_spi(Testing) import MonSyncStoreSync
import MonSyncTestSupport
import Testing

/// The simulator run as part of the suite: 300 seeds of each cluster size with every checker,
/// determinism, and mutation checks that prove the checkers catch a real fault.
@Suite("Simulation", .serialized)
struct SimulationTests {
    /// Seeds per size in the suite (`Scripts/simulate` runs as many as you like).
    static let seeds: UInt64 = 300

    /// Records each failing seed of `summary`: its violations and the end of its trace.
    static func recordFailures(of summary: SimulationCampaign.Summary, scenario: String) {
        for failure in summary.failures {
            Issue.record("seed \(failure.seed) (\(scenario)): \(failure.violations.joined(separator: "\n"))\n\(failure.trace.suffix(200).joined(separator: "\n"))")
        }
    }

    @Test("300 seeds of faults, workload and checkers: no violation", arguments: [3, 5])
    func seedsHoldEveryInvariant(monitors: Int) async {
        var options = SimulationOptions()
        options.monitors = monitors
        options.steps = 3_000
        let summary = await offPool { [options] in SimulationCampaign(options: options).run(seeds: 1...Self.seeds) }
        #expect(summary.seeds == Int(Self.seeds))
        #expect(summary.operations > Int(Self.seeds) * 10, "the workload ran: \(summary.line)")
        #expect(summary.commits > Int(Self.seeds) * 10, "the cluster committed: \(summary.line)")
        Self.recordFailures(of: summary, scenario: "\(monitors) monitors")
    }

    @Test("the store-sync scenario: a late joiner syncs under faults and writes; every swapped copy is exactly its version", arguments: [3, 5])
    func syncScenario(monitors: Int) async {
        var options = SimulationOptions()
        options.monitors = monitors
        options.steps = 3_000
        options.useSyncScenario()
        let summary = await offPool { [options] in SimulationCampaign(options: options).run(seeds: 1...150) }
        #expect(summary.seedsWithSync >= (monitors == 3 ? 60 : 20), "syncs ran: \(summary.line)")
        Self.recordFailures(of: summary, scenario: "\(monitors) monitors, late joiner")
    }

    @Test("the sync checker catches a copy that is not rolled forward to one version")
    func syncMutationIsCaught() async {
        var options = SimulationOptions()
        options.monitors = 3
        options.useSyncScenario()
        options.syncMutations = .skipRollForward
        let summary = await offPool { [options] in SimulationCampaign(options: options).run(seeds: 1...200) }
        #expect(summary.failures.contains { $0.violations.contains { $0.hasPrefix("sync:") } },
                "a copy mixing versions went unnoticed in 200 seeds: \(summary.line)")
    }

    @Test("the rolling-upgrade scenario: older builds restarted as the current one; features required only once all are, no record unreadable", arguments: [3, 5])
    func rollingUpgrade(monitors: Int) async {
        var options = SimulationOptions()
        options.monitors = monitors
        options.steps = 3_000
        options.rollingUpgrade = true
        let summary = await offPool { [options] in SimulationCampaign(options: options).run(seeds: 1...100) }
        #expect(summary.seedsRequiringFeatures >= (monitors == 3 ? 70 : 20), "upgrades completed: \(summary.line)")
        Self.recordFailures(of: summary, scenario: "\(monitors) monitors, rolling upgrade")
    }

    @Test("the upgrade checker catches records written as runs before every member can read them")
    func ungatedFormatIsCaught() async {
        var options = SimulationOptions()
        options.monitors = 3
        options.rollingUpgrade = true
        options.mutations = .runsBeforeRequired
        let summary = await offPool { [options] in SimulationCampaign(options: options).run(seeds: 1...50) }
        #expect(summary.failures.contains { $0.violations.contains { $0.hasPrefix("upgrade:") } },
                "an older build reading runs went unnoticed in 50 seeds: \(summary.line)")
    }

    @Test("a seed replays identically")
    func replay() async {
        var options = SimulationOptions()
        options.recordTrace = true
        options.steps = 2_000
        let (first, second, other) = await offPool { [options] in
            (Simulation(options: options, seed: 77).run(), Simulation(options: options, seed: 77).run(),
             Simulation(options: options, seed: 78).run())
        }
        #expect(first.trace == second.trace)
        #expect(first.trace.count > 1_000)
        #expect((first.steps, first.operations, first.commits) == (second.steps, second.operations, second.commits))
        #expect(other.trace != first.trace)
    }

    /// Each mutation re-introduces a defect of the issue; the simulator must find it in the stated number of seeds.
    @Test("the checkers catch a re-introduced defect", arguments: [
        (MonitorMachine.Mutations.readsWithoutLease, 3, UInt64(100)),
        (MonitorMachine.Mutations.peonReadsUnderLease, 3, UInt64(100)),
        (MonitorMachine.Mutations.commitOnFirstAccept, 5, UInt64(100)),
    ])
    func mutationIsCaught(mutation: MonitorMachine.Mutations, monitors: Int, within seeds: UInt64) async {
        var options = SimulationOptions()
        options.monitors = monitors
        options.mutations = mutation
        let summary = await offPool { [options] in SimulationCampaign(options: options).run(seeds: 1...seeds) }
        #expect(summary.violations > 0, "mutation \(mutation.rawValue) went unnoticed in \(seeds) seeds: \(summary.line)")
    }

    /// The leader's BEGIN, COMMIT and LEASE may leave ahead of its persists (``MonitorAction/sendAhead(_:to:)``);
    /// two ways of getting that wrong, each caught. A peon's ACCEPT sent ahead of the persist of what
    /// it accepts lets a crash take a vote back: seed 2428 then commits two values at one version
    /// and loses acknowledged writes (3 000 seeds had 6 violations, all in this one: the crash must
    /// fall between the send and the write). Sends ahead that overtake an ordered send to the same
    /// peer (a recovering leader's shared COMMITs) leave peons unable to accept: caught within 10 seeds.
    @Test("the checkers catch a vote sent ahead of its persist, and sends ahead that break a link's order", arguments: [
        (MonitorMachine.Mutations.acceptAhead, UInt64(2428)...2428),
        (MonitorMachine.Mutations.aheadPastLinkOrder, UInt64(1)...10),
    ])
    func sendAheadMisuseIsCaught(mutation: MonitorMachine.Mutations, seeds: ClosedRange<UInt64>) async {
        var options = SimulationOptions()
        options.monitors = 3
        options.mutations = mutation
        let summary = await offPool { [options] in SimulationCampaign(options: options).run(seeds: seeds) }
        #expect(summary.violations > 0, "mutation \(mutation.rawValue) went unnoticed in seeds \(seeds): \(summary.line)")
        if mutation == .acceptAhead {
            let found = summary.failures.flatMap(\.violations)
            #expect(found.contains { $0.hasPrefix("durability:") } && found.contains { $0.hasPrefix("agreement:") }, "\(found)")
        }
        options.mutations = []
        let clean = await offPool { [options] in SimulationCampaign(options: options).run(seeds: seeds) }
        #expect(clean.violations == 0, "without the mutation: \(clean.line)")
    }

    /// A livelock (a timer re-armed at a deadline already past fires again at once, forever: the
    /// sync leader's linger did so) stops the run with a violation instead of hanging the campaign.
    @Test("a livelock is a violation, not a hang")
    func livelockIsReported() {
        var options = SimulationOptions()
        options.livelockEvents = 500
        let simulation = Simulation(options: options, seed: 3)
        // Events that never let time move, as a timer re-armed in the past produces.
        for _ in 0..<1_000 { simulation.schedule(at: 0, .syncDone(rank: 0, incarnation: -1)) }
        let result = simulation.run()
        #expect(result.violations.count == 1)
        #expect(result.violations.first?.hasPrefix("liveness: livelock, 500 events at t=0.000s") == true, "\(result.violations)")
        #expect(result.steps < 1_000)
    }
}
