/// The overall health of a cluster or of one monitor, in Ceph's words.
///
/// Ordered from best to worst, so the status of a report is the worst of its checks'
/// (`max()`), as in Ceph's `health_status_t`.
public enum HealthStatus: String, Sendable, Hashable, Codable, Comparable, CaseIterable, CustomStringConvertible {
    /// Nothing to report.
    case ok = "HEALTH_OK"
    /// Something needs an operator's attention, but the cluster serves reads and writes.
    case warn = "HEALTH_WARN"
    /// The cluster cannot serve (no quorum), or will stop soon (a store nearly out of space).
    case error = "HEALTH_ERR"

    private var severity: Int {
        switch self {
        case .ok: 0
        case .warn: 1
        case .error: 2
        }
    }

    public static func < (lhs: HealthStatus, rhs: HealthStatus) -> Bool { lhs.severity < rhs.severity }

    public var description: String { rawValue }
}
