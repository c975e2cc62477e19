/// Runs the simulator over a range of seeds and sums up what it found.
public struct SimulationCampaign: Sendable {
    /// The scenario each seed runs.
    public var options: SimulationOptions

    /// A campaign of `options`.
    public init(options: SimulationOptions) { self.options = options }

    /// The totals of a campaign.
    public struct Summary: Sendable {
        /// Seeds run.
        public var seeds = 0
        /// Events handled, over all seeds.
        public var steps = 0
        /// Client operations invoked, over all seeds.
        public var operations = 0
        /// Paxos versions committed, over all seeds.
        public var commits = 0
        /// Store syncs that swapped a copy in, over all seeds.
        public var syncsCompleted = 0
        /// Store syncs that failed (and were retried), over all seeds.
        public var syncsFailed = 0
        /// Seeds in which at least one store sync completed.
        public var seedsWithSync = 0
        /// Writes acknowledged while monitors rejoined after the heal, over all seeds.
        public var rejoinWrites = 0
        /// Simulated seconds the monitors took to rejoin after the heal, over all seeds.
        public var rejoinSeconds = 0.0
        /// Monmap epochs committed (membership changes), over all seeds.
        public var monmapChanges = 0
        /// Leaders' commits left out as no decision (their acceptance never persisted), over all seeds.
        public var undurableCommitsIgnored = 0
        /// The seeds that played a rare scenario a regression test pins by its seed: a commit left
        /// out as no decision, or a removed monitor ending isolated. When a change shifts the
        /// histories, the tests' seeds stop playing them; these name new ones.
        public var scenarioSeeds: (undurableCommit: [UInt64], isolatedOutsider: [UInt64]) = ([], [])
        /// Rolling-upgrade scenario: the seeds that ended with the cluster requiring features (every
        /// monitor upgraded, and the features committed). Other scenarios' stores require them from the start.
        public var seedsRequiringFeatures = 0
        /// The failing runs (their violations, and their traces when recorded).
        public var failures: [SimulationResult] = []

        /// Nothing run yet.
        public init() {}
        /// Violations over all seeds.
        public var violations: Int { failures.reduce(0) { $0 + $1.violations.count } }

        /// `simulate: N seeds, M steps, K client operations, V violations`.
        public var line: String {
            "simulate: \(seeds) seeds, \(steps) steps, \(operations) client operations, "
                + "\(syncsCompleted) store syncs in \(seedsWithSync) seeds (\(syncsFailed) failed and retried), "
            + "\(rejoinSeconds > 0 ? Int((Double(rejoinWrites) / rejoinSeconds).rounded()) : 0) writes/s while rejoining, "
            + (monmapChanges > 0 ? "\(monmapChanges) monmap changes committed, " : "")
            + (undurableCommitsIgnored > 0 ? "\(undurableCommitsIgnored) undurable commits ignored (seeds \(Self.first(scenarioSeeds.undurableCommit))), " : "")
            + (scenarioSeeds.isolatedOutsider.isEmpty ? "" : "isolated outsiders in seeds \(Self.first(scenarioSeeds.isolatedOutsider)), ")
            + (seedsRequiringFeatures > 0 ? "\(seedsRequiringFeatures) seeds ended requiring features, " : "") + "\(violations) violations"
        }

        private static func first(_ seeds: [UInt64]) -> String {
            seeds.prefix(5).map(String.init).joined(separator: " ") + (seeds.count > 5 ? " …" : "")
        }
    }

    /// Runs `seeds`; a failing seed is run again with its trace recorded (the replay is identical).
    public func run(seeds: some Sequence<UInt64>, progress: (UInt64, SimulationResult) -> Void = { _, _ in }) -> Summary {
        var summary = Summary()
        for seed in seeds {
            var result = Simulation(options: options, seed: seed).run()
            if !result.violations.isEmpty {
                var traced = options
                traced.recordTrace = true
                result = Simulation(options: traced, seed: seed).run()
            }
            summary.seeds += 1
            summary.steps += result.steps
            summary.operations += result.operations
            summary.commits += result.commits
            summary.syncsCompleted += result.syncsCompleted
            summary.syncsFailed += result.syncsFailed
            if result.syncsCompleted > 0 { summary.seedsWithSync += 1 }
            summary.rejoinWrites += result.rejoinWrites
            summary.rejoinSeconds += Double(result.rejoinNanoseconds) / 1e9
            summary.monmapChanges += result.monmapChanges
            summary.undurableCommitsIgnored += result.undurableCommitsIgnored
            if result.undurableCommitsIgnored > 0 { summary.scenarioSeeds.undurableCommit.append(seed) }
            if result.isolatedOutsiders > 0 { summary.scenarioSeeds.isolatedOutsider.append(seed) }
            if options.rollingUpgrade && result.featuresRequired { summary.seedsRequiringFeatures += 1 }
            if !result.violations.isEmpty { summary.failures.append(result) }
            progress(seed, result)
        }
        return summary
    }
}
