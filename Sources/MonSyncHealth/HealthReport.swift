/// The result of a health evaluation: the overall status and every raised check, worst first.
///
/// Its JSON is Ceph's `ceph health detail -f json`:
///
/// ```json
/// {"status": "HEALTH_WARN",
///  "checks": {"MON_DOWN": {"severity": "HEALTH_WARN",
///                          "summary": {"message": "1/3 mons down, quorum a,b", "count": 1},
///                          "detail": [{"message": "mon.c (rank 2) at tcp://127.0.0.1:7003 is down (no answer)"}]}}}
/// ```
public struct HealthReport: Sendable, Hashable, Encodable {
    /// The worst severity among the checks; ``HealthStatus/ok`` when none is raised.
    public var status: HealthStatus { checks.map(\.severity).max() ?? .ok }
    /// The raised checks, errors first, then in ``HealthCheckCode`` order.
    public private(set) var checks: [HealthCheck]

    /// A report of `checks` (in any order).
    public init(checks: [HealthCheck]) {
        let order = Dictionary(uniqueKeysWithValues: HealthCheckCode.allCases.enumerated().map { ($1, $0) })
        self.checks = checks.sorted { ($0.severity, order[$1.code]!) > ($1.severity, order[$0.code]!) }
    }

    /// The check named `code`, if raised.
    public func check(_ code: HealthCheckCode) -> HealthCheck? { checks.first { $0.code == code } }

    /// `ceph health`: `HEALTH_WARN 1/3 mons down, quorum a,b; 1 monitor syncing its store: c`.
    public var summaryLine: String {
        checks.isEmpty ? status.rawValue : "\(status.rawValue) " + checks.map(\.summary).joined(separator: "; ")
    }

    /// `ceph health detail`: the summary line, then each check with its detail lines indented.
    public var detailText: String {
        var lines = [summaryLine]
        for check in checks {
            lines.append("[\(check.severity == .error ? "ERR" : "WRN")] \(check.code): \(check.summary)")
            lines += check.detail.map { "    " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    private struct Message: Encodable {
        var message: String
    }

    private struct Summary: Encodable {
        var message: String
        var count: Int
    }

    private struct CheckBody: Encodable {
        var severity: HealthStatus
        var summary: Summary
        var detail: [Message]
    }

    private struct CodeKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private enum Keys: String, CodingKey { case status, checks }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(status, forKey: .status)
        var checksContainer = container.nestedContainer(keyedBy: CodeKey.self, forKey: .checks)
        for check in checks {
            try checksContainer.encode(
                CheckBody(severity: check.severity, summary: Summary(message: check.summary, count: max(1, check.detail.count)),
                          detail: check.detail.map(Message.init)),
                forKey: CodeKey(stringValue: check.code.rawValue))
        }
    }
}
