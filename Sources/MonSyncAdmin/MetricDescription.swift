/// One metric as MonSync exports it: its Prometheus name, type, help text, label names and, for a
/// histogram, its buckets. ``MetricsCatalog`` lists them all; docs/METRICS.md is written from it.
public struct MetricDescription: Sendable, Hashable {
    /// The Prometheus metric type.
    public enum Kind: String, Sendable, Hashable {
        /// A count that only goes up (`_total`).
        case counter
        /// A value that goes up and down.
        case gauge
        /// Observations in buckets (`_bucket`, `_sum`, `_count`).
        case histogram
    }

    /// The metric's name (`monsync_…`, base units, `_total` for counters).
    public var name: String
    /// Its type.
    public var kind: Kind
    /// The `# HELP` text.
    public var help: String
    /// Its label names, in the order the code gives them.
    public var labels: [String]
    /// A histogram's bucket upper bounds, in the metric's unit (seconds for `_seconds`).
    public var buckets: [Double]

    /// A description.
    public init(_ name: String, _ kind: Kind, labels: [String], buckets: [Double] = [], help: String) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels
        self.buckets = buckets
    }
}
