/// One raised health check: its code, its severity, a one-line summary and detail lines, as
/// `ceph health detail` shows them.
public struct HealthCheck: Sendable, Hashable {
    /// What is wrong.
    public var code: HealthCheckCode
    /// How bad it is: ``HealthStatus/warn`` or ``HealthStatus/error``.
    public var severity: HealthStatus
    /// One line for the whole check (`1/3 mons down, quorum a,b`).
    public var summary: String
    /// One line per monitor or item concerned (`mon.c (rank 2) at tcp://… is down (no answer)`).
    public var detail: [String]

    /// A check.
    public init(code: HealthCheckCode, severity: HealthStatus, summary: String, detail: [String] = []) {
        self.code = code
        self.severity = severity
        self.summary = summary
        self.detail = detail
    }
}
