import CoreMetrics
import Foundation
import Logging
import MonSyncAdmin
import Testing

@Suite("The Prometheus back-end: catalogue help, buckets, and no crash on clashing instruments")
struct PrometheusMetricsBackendTests {
    let backend = PrometheusMetricsBackend(logger: Logger(label: "test"))

    var text: String { String(decoding: backend.exposition(), as: UTF8.self) }

    @Test("an instrument of the catalogue gets its help text; one outside it is still exported, with a help line")
    func helpTexts() {
        backend.makeCounter(label: "monsync_monitor_paxos_commits_total", dimensions: [("mon", "a")]).increment(by: 3)
        backend.makeRecorder(label: "someone_elses_gauge", dimensions: [], aggregate: false).record(Int64(7))
        #expect(text.contains("# HELP monsync_monitor_paxos_commits_total Paxos versions committed locally (rounds, shares, recovery).\n"))
        #expect(text.contains("# TYPE monsync_monitor_paxos_commits_total counter\nmonsync_monitor_paxos_commits_total{mon=\"a\"} 3\n"))
        #expect(text.contains("# HELP someone_elses_gauge A swift-metrics gauge that MonSync's catalogue does not describe.\n"))
    }

    @Test("a timer is a histogram in seconds with the catalogue's buckets")
    func histogram() {
        let timer = backend.makeTimer(label: "monsync_monitor_paxos_commit_duration_seconds", dimensions: [("mon", "a")])
        timer.recordNanoseconds(3_000_000)  // 3 ms
        let samples = backend.samples()
        #expect(text.contains("monsync_monitor_paxos_commit_duration_seconds_bucket{mon=\"a\",le=\"0.0025\"} 0\n"))
        #expect(text.contains("monsync_monitor_paxos_commit_duration_seconds_bucket{mon=\"a\",le=\"0.005\"} 1\n"))
        #expect(text.contains("monsync_monitor_paxos_commit_duration_seconds_bucket{mon=\"a\",le=\"+Inf\"} 1\n"))
        #expect(samples.contains { $0.name == "monsync_monitor_paxos_commit_duration_seconds_count{mon=a}" && $0.value == 1 })
        #expect(!samples.contains { $0.name.contains("_bucket") }, "logs leave the buckets out")
    }

    @Test("a second instrument of a name with another type or other labels gets a no-op; the first keeps counting")
    func clashes() {
        let first = backend.makeCounter(label: "monsync_dispatch_sent_total", dimensions: [("node", "x")])
        first.increment(by: 1)
        let otherType = backend.makeRecorder(label: "monsync_dispatch_sent_total", dimensions: [("node", "x")], aggregate: false)
        otherType.record(Int64(99))
        let otherLabels = backend.makeCounter(label: "monsync_dispatch_sent_total", dimensions: [("peer", "y")])
        otherLabels.increment(by: 5)
        let repeated = backend.makeCounter(label: "repeated_label_total", dimensions: [("a", "1"), ("a", "2")])
        repeated.increment(by: 1)
        first.increment(by: 1)
        #expect(text.contains("monsync_dispatch_sent_total{node=\"x\"} 2\n"))
        #expect(!text.contains("peer=") && !text.contains("repeated_label_total"))
    }
}
