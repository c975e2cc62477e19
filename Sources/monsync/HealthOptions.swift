import ArgumentParser
import MonSyncHealth

/// `--store-nearly-full-percent`, `--store-full-percent`, `--sync-stall-timeout`: when measured
/// quantities raise a health check (``HealthThresholds``); `health`, `status` and `node` take them.
struct HealthOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Free space (percent of the store's filesystem) under which STORE_NEARLY_FULL is raised (Ceph's mon_data_avail_warn).",
                               valueName: "percent"))
    var storeNearlyFullPercent: Double = HealthThresholds.default.storeNearlyFullPercent

    @Option(help: ArgumentHelp("Free space under which STORE_FULL, an error, is raised (Ceph's mon_data_avail_crit).", valueName: "percent"))
    var storeFullPercent: Double = HealthThresholds.default.storeFullPercent

    @Option(help: ArgumentHelp("Seconds a store sync may go without progress before SYNC_STALLED is raised.", valueName: "s"))
    var syncStallTimeout: Double = HealthThresholds.default.syncStallTimeout.inSeconds

    func validate() throws {
        for (flag, value) in [("--store-nearly-full-percent", storeNearlyFullPercent), ("--store-full-percent", storeFullPercent)]
        where !(value >= 0 && value <= 100) {
            throw ValidationError("\(flag) must be between 0 and 100 (got \(value)).")
        }
        guard storeFullPercent <= storeNearlyFullPercent else {
            throw ValidationError("--store-full-percent (\(storeFullPercent)) must not exceed --store-nearly-full-percent (\(storeNearlyFullPercent)).")
        }
        guard syncStallTimeout > 0 && syncStallTimeout <= 86_400 else {
            throw ValidationError("--sync-stall-timeout must be between 0 and 86400 seconds (got \(syncStallTimeout)).")
        }
    }

    var thresholds: HealthThresholds {
        HealthThresholds(storeNearlyFullPercent: storeNearlyFullPercent, storeFullPercent: storeFullPercent,
                         syncStallTimeout: syncStallTimeout.seconds)
    }
}
