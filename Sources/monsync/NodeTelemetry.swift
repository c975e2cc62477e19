import Foundation
import Metrics
import MonSyncAdmin
import MonSyncCore
import MonSyncHealth
import MonSyncMessages
import MonSyncMonitor
#if ZeroMQ
import MonSyncZeroMQ
#endif

/// What a node's admin endpoint and its metrics log read: the node's own health, and the values
/// that are measured rather than counted as they happen — the store's disk usage, the health
/// checks, the ZeroMQ transport's counters — brought up to date on each scrape.
///
/// The monitor and the dispatcher push their instruments as things happen; these few are pulled,
/// since measuring them (a directory walk, a health evaluation) on every step would cost more
/// than any scrape.
final class NodeTelemetry: Sendable {
    private let monitor: Monitor
    private let evaluator: HealthEvaluator
    private let backend: PrometheusMetricsBackend
    private let storeBytes: Gauge
    private let filesystemBytes: Gauge
    private let filesystemAvailableBytes: Gauge
    private let healthStatus: Gauge
    private let healthChecks: [HealthCheckCode: Gauge]
    #if ZeroMQ
    private let zeroMQ: ZeroMQCounters?
    #endif

    init(monitor: Monitor, thresholds: HealthThresholds, backend: PrometheusMetricsBackend) {
        self.monitor = monitor
        self.backend = backend
        evaluator = HealthEvaluator(thresholds: thresholds)
        let dimensions = [("mon", monitor.name)]
        storeBytes = Gauge(label: "monsync_store_size_bytes", dimensions: dimensions)
        filesystemBytes = Gauge(label: "monsync_store_filesystem_size_bytes", dimensions: dimensions)
        filesystemAvailableBytes = Gauge(label: "monsync_store_filesystem_available_bytes", dimensions: dimensions)
        healthStatus = Gauge(label: "monsync_health_status", dimensions: dimensions)
        var checks: [HealthCheckCode: Gauge] = [:]
        for code in HealthCheckCode.allCases {
            checks[code] = Gauge(label: "monsync_health_check", dimensions: [("mon", monitor.name), ("code", code.rawValue)])
        }
        healthChecks = checks
        #if ZeroMQ
        zeroMQ = (monitor.dispatcher.transport as? ZeroMQTransport).map(ZeroMQCounters.init)
        #endif
    }

    /// The node's own view of its health: itself, its quorum as it knows it, its store and its sync.
    func health() async -> HealthReport {
        let status = await monitor.statusWithVitals()
        let monmap = await monitor.monmap
        // A removed monitor reports itself under its name and the last address it had.
        let me = monmap.member(named: monitor.name)
            ?? MonitorEntity(rank: status.rank, name: monitor.name, address: monitor.dispatcher.transport.localAddress.description)
        let observation = ClusterObservation(
            members: monmap.members, monmapEpoch: monmap.epoch,
            monitors: [MonitorObservation(name: me.name, rank: me.rank, address: me.address, status: status,
                                          monmapEpoch: monmap.epoch, monmap: monmap.members)],
            scope: .monitor(me.name))
        return evaluator.evaluate(observation)
    }

    /// Measures what is pulled (store usage, health, transport counters) into the instruments;
    /// returns the health it evaluated.
    @discardableResult
    func refresh() async -> HealthReport {
        let report = await health()
        let vitals = monitor.vitals
        storeBytes.record(Int64(clamping: vitals.storeBytes))
        filesystemBytes.record(Int64(clamping: vitals.filesystemBytes))
        filesystemAvailableBytes.record(Int64(clamping: vitals.filesystemAvailableBytes))
        healthStatus.record(Self.number(report.status))
        for (code, gauge) in healthChecks { gauge.record(report.check(code) == nil ? 0 : 1) }
        #if ZeroMQ
        zeroMQ?.refresh()
        #endif
        return report
    }

    /// `GET /metrics`: refreshed, then every instrument in the text exposition format.
    func metricsResponse() async -> AdminResponse {
        await refresh()
        return AdminResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: backend.exposition())
    }

    /// `GET /health`: 200 while the node serves (HEALTH_OK, HEALTH_WARN), 503 on HEALTH_ERR (no
    /// quorum, a full store); the body is the report as `monsync health --json` prints it.
    func healthResponse() async -> AdminResponse {
        let report = await refresh()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(report)).map { Array($0) + [0x0A] } ?? Array("{\"status\": \"\(report.status)\"}\n".utf8)
        return AdminResponse(status: report.status == .error ? 503 : 200, contentType: "application/json", body: body)
    }

    static func number(_ status: HealthStatus) -> Int {
        switch status {
        case .ok: 0
        case .warn: 1
        case .error: 2
        }
    }
}
