import Metrics
import MonSyncStoreSync

/// The store sync requester's swift-metrics instruments (`monsync_sync_requester_*`, dimension
/// `mon`), fed from the progress its driver reads after every step.
///
/// A new sync starts its progress from zero, so counters add what a progress gained over the
/// previous reading of the same session, and all of it for a new session.
struct SyncRequesterMetrics: Sendable {
    private let bytes: Counter
    private let keys: Counter
    private let chunks: Counter
    private let providerSwitches: Counter
    private let retries: Counter
    private let aborts: Counter
    private let corruptChunks: Counter
    private let heartbeatTimeouts: Counter
    private let phase: Gauge
    private let throughput: Gauge
    private let estimatedBytes: Gauge
    private let duration: Timer
    private let succeeded: Counter
    private let failed: Counter
    private let cancelled: Counter

    init(name: String) {
        let dimensions = [("mon", name)]
        func counter(_ label: String) -> Counter { Counter(label: label, dimensions: dimensions) }
        bytes = counter("monsync_sync_requester_bytes_total")
        keys = counter("monsync_sync_requester_keys_total")
        chunks = counter("monsync_sync_requester_chunks_total")
        providerSwitches = counter("monsync_sync_requester_provider_switches_total")
        retries = counter("monsync_sync_requester_retries_total")
        aborts = counter("monsync_sync_requester_aborts_total")
        corruptChunks = counter("monsync_sync_requester_corrupt_chunks_total")
        heartbeatTimeouts = counter("monsync_sync_requester_heartbeat_timeouts_total")
        phase = Gauge(label: "monsync_sync_requester_phase", dimensions: dimensions)
        throughput = Gauge(label: "monsync_sync_requester_throughput_bytes_per_second", dimensions: dimensions)
        estimatedBytes = Gauge(label: "monsync_sync_requester_estimated_bytes", dimensions: dimensions)
        duration = Timer(label: "monsync_sync_requester_duration_seconds", dimensions: dimensions)
        func syncs(_ result: String) -> Counter {
            Counter(label: "monsync_sync_requester_syncs_total", dimensions: [("mon", name), ("result", result)])
        }
        succeeded = syncs("succeeded")
        failed = syncs("failed")
        cancelled = syncs("cancelled")
        phase.record(0)
    }

    /// What the sync gained since `old` (nothing of it when `old` is another session's).
    func record(from old: SyncProgress?, to new: SyncProgress) {
        let base = old.flatMap { $0.session == new.session ? $0 : nil } ?? SyncProgress()
        func add(_ counter: Counter, _ before: UInt64, _ after: UInt64) {
            if after > before { counter.increment(by: Int64(clamping: after - before)) }
        }
        func add(_ counter: Counter, _ before: Int, _ after: Int) {
            if after > before { counter.increment(by: after - before) }
        }
        add(bytes, base.bytes, new.bytes)
        add(keys, base.keys, new.keys)
        add(chunks, base.chunks, new.chunks)
        add(providerSwitches, base.providerSwitches, new.providerSwitches)
        add(retries, base.retries, new.retries)
        add(aborts, base.aborts, new.aborts)
        add(corruptChunks, base.corruptChunks, new.corruptChunks)
        add(heartbeatTimeouts, base.heartbeatTimeouts, new.heartbeatTimeouts)
        phase.record(Self.phaseNumber(new.phase))
        throughput.record(new.rate.isFinite ? new.rate : 0)
        estimatedBytes.record(Int64(clamping: new.estimatedBytes))
    }

    /// A sync's end: counted by result; a finished one's duration goes to the histogram.
    func record(result: Result<SyncOutcome, SyncFailure>, elapsed: Duration) {
        switch result {
        case .success:
            succeeded.increment()
            duration.recordNanoseconds(elapsed.nanoseconds)
        case .failure(.cancelled): cancelled.increment()
        case .failure: failed.increment()
        }
    }

    /// The phase as `status` numbers it (0 idle, 1 requesting, 2 streaming, 3 swapping, 4 done, 5 failed).
    static func phaseNumber(_ phase: SyncProgress.Phase) -> Int {
        switch phase {
        case .idle: 0
        case .requesting: 1
        case .streaming: 2
        case .swapping: 3
        case .done: 4
        case .failed: 5
        }
    }
}
