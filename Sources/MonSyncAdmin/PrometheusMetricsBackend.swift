public import CoreMetrics
public import Logging
import MonSyncCore
import Prometheus

/// The swift-metrics back-end of a node: every instrument goes to a Prometheus registry, which
/// ``exposition()`` writes in the text exposition format for `GET /metrics`.
///
/// Help texts and histogram buckets come from ``MetricsCatalog``. The registry refuses (by
/// crashing) two instruments of one name with different types or label names; this back-end
/// checks that first and hands such a second instrument a no-op handler, logging it once, so an
/// instrument misdeclared somewhere costs its own series, never the node.
///
/// Bootstrap it once per process: `MetricsSystem.bootstrap(PrometheusMetricsBackend(logger: logger))`.
public final class PrometheusMetricsBackend: MetricsFactory, Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let logger: Logger
    /// The type and label names each name was first registered with.
    private let shapes = LockedState<[String: Shape]>([:])

    private struct Shape: Hashable {
        var kind: MetricDescription.Kind
        var labels: [String]
    }

    /// A back-end with an empty registry.
    public init(logger: Logger) {
        self.logger = logger
    }

    /// Every instrument's current value in the Prometheus text exposition format (version 0.0.4).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// The instruments' values as `name{label=value,…}` → value, without histogram buckets (their
    /// `_sum` and `_count` stay): what `--metrics-interval` logs.
    public func samples() -> [(name: String, value: Double)] {
        ExpositionSamples.parse(String(decoding: exposition(), as: UTF8.self))
    }

    /// Whether an instrument `name` of `kind` with `dimensions` may be registered: the first of a
    /// name fixes its type and label names; a later one that differs is refused.
    private func admits(_ name: String, _ kind: MetricDescription.Kind, _ dimensions: [(String, String)]) -> Bool {
        let shape = Shape(kind: kind, labels: dimensions.map(\.0).sorted())
        let duplicateLabel = Set(shape.labels).count != shape.labels.count
        let first = shapes.withLock { shapes -> Shape? in
            if let existing = shapes[name] { return existing }
            if !duplicateLabel { shapes[name] = shape }
            return shape
        }
        guard first != shape || duplicateLabel else { return true }
        logger.error("metric refused: another instrument of this name has another type or other labels",
                     metadata: ["metric": "\(name)", "kind": "\(kind)", "labels": "\(shape.labels)",
                                "registered": first.map { "\($0.kind) \($0.labels)" } ?? "none (a label is repeated)"])
        return false
    }

    /// The name with its help text: the catalogue's, or a note that the catalogue lacks it.
    private func descriptor(_ name: String, _ kind: MetricDescription.Kind) -> MetricNameDescriptor {
        let help = MetricsCatalog.description(of: name)?.help ?? "A swift-metrics \(kind) that MonSync's catalogue does not describe."
        // The unit is part of MonSync's names already (`_total`, `_seconds`, `_bytes`).
        return MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        guard admits(label, .counter, dimensions) else { return NOOPMetricsHandler.instance }
        return registry.makeCounter(descriptor: descriptor(label, .counter), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        guard admits(label, .counter, dimensions) else { return NOOPMetricsHandler.instance }
        return registry.makeCounter(descriptor: descriptor(label, .counter), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if aggregate {
            guard admits(label, .histogram, dimensions) else { return NOOPMetricsHandler.instance }
            let buckets = MetricsCatalog.description(of: label)?.buckets ?? []
            return registry.makeValueHistogram(descriptor: descriptor(label, .histogram), labels: dimensions,
                                               buckets: buckets.isEmpty ? [1, 10, 100, 1000, 10_000] : buckets)
        }
        guard admits(label, .gauge, dimensions) else { return NOOPMetricsHandler.instance }
        return registry.makeGauge(descriptor: descriptor(label, .gauge), labels: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        guard admits(label, .gauge, dimensions) else { return NOOPMetricsHandler.instance }
        return registry.makeGauge(descriptor: descriptor(label, .gauge), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard admits(label, .histogram, dimensions) else { return NOOPMetricsHandler.instance }
        let seconds = MetricsCatalog.description(of: label)?.buckets ?? []
        let buckets = (seconds.isEmpty ? MetricsCatalog.commitBuckets : seconds).map { Duration.nanoseconds(Int64($0 * 1e9)) }
        return registry.makeDurationHistogram(descriptor: descriptor(label, .histogram), labels: dimensions, buckets: buckets)
    }

    // Series stay exported once created: MonSync never destroys an instrument, and a counter
    // that vanished and came back from zero would read as a reset.
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}
