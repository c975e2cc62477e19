import Foundation
import ArgumentParser
@_spi(Testing) import MonSyncMonitor
@_spi(Testing) import MonSyncSimulation
@_spi(Testing) import MonSyncStoreSync

/// `monsync-simulate`: the deterministic simulator over a range of seeds (what `Scripts/simulate` runs).
@main
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monsync-simulate",
        abstract: "Runs the monitor cluster through seeded faults and checks every history.",
        discussion: """
        Each seed runs the real monitor state machines on a simulated network and clock with crashes, \
        partitions, loss, duplication and reordering, and a client workload; the checkers (linearizability, \
        agreement, durability, liveness, membership) run on each history; --membership adds and removes \
        monitors while the faults run. The last line is \
        `simulate: N seeds, M steps, K client operations, V violations`; the exit status is 0 only when V is 0. \
        A failing seed prints its violations and trace; `--first S --seeds 1 --trace` replays it.
        """)

    @Option(help: "How many seeds to run.") var seeds: UInt64 = 100
    @Option(help: "The first seed.") var first: UInt64 = 1
    @Option(help: "Events in each seed's fault phase.") var steps: Int = 4_000
    @Option(help: "Cluster sizes to run each seed with (comma-separated).") var monitors: String = "3,5"
    @Option(help: "Re-introduce a defect to show the checkers catch it: reads-without-lease, peon-reads-under-lease, commit-on-first-accept, change-commits-under-new-map, runs-before-required (with --rolling-upgrade), accept-ahead, ahead-past-link-order, sync-accepts-older-snapshots, sync-skips-roll-forward.")
    var mutation: String?
    @Option(help: "Slow links, FROM:TO:MS comma-separated (e.g. 0:1:7000,0:2:8000): every message from monitor FROM to TO takes MS longer.")
    var slow: String?
    @Option(help: "Probability per event of a crash, of a partition (the other fault rates scale with it); 0 runs without faults.")
    var crashRate: Double?
    @Flag(help: "The store-sync scenario: one monitor starts late, with an empty store, after the first trim, and joins by store sync; the log is trimmed every dozen versions.")
    var lateJoiner = false
    @Flag(help: "The membership scenario: an operator adds monitors of a pool of 5 (started with empty stores) and removes members while the faults run; each --monitors size is the initial cluster (at most 5); the log is trimmed every dozen versions.")
    var membership = false
    @Flag(help: "The rolling-upgrade scenario: every monitor starts as the previous build (no monitor features: applied-tid records as lists only) and restarts as the current build after a crash; checks that no store read fails and that features are required only once every member is upgraded.")
    var rollingUpgrade = false
    @Flag(help: "Print the trace of every seed, not only of failing ones.") var trace = false
    @Option(help: "Trace lines printed for a failing seed (its last ones).") var traceLines: Int = 300
    @Option(help: "Print a progress line (seeds run, violations so far) to standard error every N seeds; 0 prints none.")
    var progress: UInt64 = 0

    mutating func run() throws {
        let sizes = try monitors.split(separator: ",").map { text -> Int in
            guard let size = Int(text), size >= 1, size <= 9 else { throw ValidationError("--monitors takes sizes from 1 to 9, like 3,5") }
            guard !membership || size <= 5 else { throw ValidationError("--membership starts from 1 to 5 monitors (the pool is 5)") }
            return size
        }
        var mutations: MonitorMachine.Mutations = []
        var syncMutations: SyncRequesterMachine.Mutations = []
        switch mutation {
        case nil: break
        case "sync-accepts-older-snapshots": syncMutations = .acceptOlderSnapshots
        case "sync-skips-roll-forward": syncMutations = .skipRollForward
        case "reads-without-lease": mutations = .readsWithoutLease
        case "commit-on-first-accept": mutations = .commitOnFirstAccept
        case "peon-reads-under-lease": mutations = .peonReadsUnderLease
        case "change-commits-under-new-map": mutations = .changeCommitsUnderNewMap
        case "runs-before-required": mutations = .runsBeforeRequired
        case "accept-ahead": mutations = .acceptAhead
        case "ahead-past-link-order": mutations = .aheadPastLinkOrder
        case let other?: throw ValidationError("unknown mutation \(other)")
        }
        var total = SimulationCampaign.Summary()
        for size in sizes {
            var options = SimulationOptions()
            options.monitors = size
            options.steps = steps
            options.mutations = mutations
            options.syncMutations = syncMutations
            if lateJoiner { options.useSyncScenario() }
            if membership { options.useMembershipScenario() }
            options.rollingUpgrade = rollingUpgrade
            options.recordTrace = trace
            if let crashRate {
                let scale = crashRate / options.crashRate
                options.crashRate = crashRate
                options.midStepCrashRate *= scale
                options.partitionRate *= scale
                options.dropRate *= scale
                options.duplicateRate *= scale
                options.longDelayRate *= scale
            }
            for link in slow?.split(separator: ",") ?? [] {
                let parts = link.split(separator: ":").compactMap { Int($0) }
                guard parts.count == 3, parts[0] < size, parts[1] < size, parts[2] >= 0 else {
                    throw ValidationError("--slow takes FROM:TO:MS with ranks below \(size), like 0:1:7000")
                }
                options.slowLinks.append(SlowLink(from: parts[0], to: parts[1], milliseconds: parts[2]))
            }
            var (run, failing) = (UInt64(0), 0)
            let summary = SimulationCampaign(options: options).run(seeds: first..<(first + seeds)) { seed, result in
                run += 1
                if !result.violations.isEmpty { failing += 1 }
                if progress > 0, run % progress == 0 {
                    var standardError = StandardError()
                    print("\(size) monitors: \(run) of \(seeds) seeds, the last \(seed), \(failing) failing", to: &standardError)
                }
                if trace || !result.violations.isEmpty {
                    print("seed \(seed) (\(size) monitors): \(result.violations.isEmpty ? "ok" : "\(result.violations.count) violations")")
                    for violation in result.violations { print("  \(violation)") }
                    for line in result.trace.suffix(trace ? Int.max : traceLines) { print("    \(line)") }
                }
            }
            print("\(size) monitors: \(summary.line)")
            total.seeds += summary.seeds
            total.steps += summary.steps
            total.operations += summary.operations
            total.syncsCompleted += summary.syncsCompleted
            total.syncsFailed += summary.syncsFailed
            total.seedsWithSync += summary.seedsWithSync
            total.rejoinWrites += summary.rejoinWrites
            total.rejoinSeconds += summary.rejoinSeconds
            total.monmapChanges += summary.monmapChanges
            total.undurableCommitsIgnored += summary.undurableCommitsIgnored
            total.scenarioSeeds.undurableCommit += summary.scenarioSeeds.undurableCommit
            total.scenarioSeeds.isolatedOutsider += summary.scenarioSeeds.isolatedOutsider
            total.seedsRequiringFeatures += summary.seedsRequiringFeatures
            total.failures += summary.failures
        }
        print(total.line)
        if total.violations > 0 { throw ExitCode(1) }
    }
}

/// Standard error, for progress lines that must not mix with the report on standard output.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
