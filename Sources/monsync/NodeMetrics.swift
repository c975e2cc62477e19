import CoreMetrics
import Logging
import MonSyncCore

/// A swift-metrics back-end that keeps the latest value of every instrument in memory, so a
/// node can log them (`monsync node --metrics-interval`, and once at shutdown).
///
/// Counters hold their running total, recorders (gauges) their last value, timers their last
/// duration in nanoseconds. A real deployment bootstraps a Prometheus or OpenTelemetry back-end
/// instead; the monitor's instruments (`monsync_monitor_*`) do not change.
final class NodeMetrics: MetricsFactory {
    private let values = LockedState<[String: Double]>([:])

    /// The instruments' values, sorted by name (`label{dimension=value,…}`).
    var snapshot: [(name: String, value: Double)] {
        values.withLock { $0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The values as logger metadata.
    var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for (name, value) in snapshot {
            metadata[name] = value.rounded() == value && abs(value) < 1e15 ? "\(Int64(value))" : "\(value)"
        }
        return metadata
    }

    private static func name(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.isEmpty ? label : label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(name: Self.name(label, dimensions), values: values)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(name: Self.name(label, dimensions), values: values)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Handler(name: Self.name(label, dimensions), values: values)
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    /// One instrument: writes its value into the shared table.
    final class Handler: CounterHandler, RecorderHandler, TimerHandler, Sendable {
        let name: String
        let values: LockedState<[String: Double]>

        init(name: String, values: LockedState<[String: Double]>) {
            self.name = name
            self.values = values
        }

        func increment(by amount: Int64) { values.withLock { $0[name, default: 0] += Double(amount) } }
        func reset() { values.withLock { $0[name] = 0 } }
        func record(_ value: Int64) { values.withLock { $0[name] = Double(value) } }
        func record(_ value: Double) { values.withLock { $0[name] = value } }
        func recordNanoseconds(_ duration: Int64) { values.withLock { $0[name] = Double(duration) } }
    }
}
