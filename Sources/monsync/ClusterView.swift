import MonSyncHealth
import MonSyncMessages
import MonSyncMonitor

/// One `status` survey seen as a whole: the rows of each monitor asked, the cluster's monmap, and
/// the health the answers add up to. `status` and `health` both print from it.
struct ClusterView {
    /// Each monitor asked, in the cluster's rank order.
    var rows: [StatusRow]
    /// What the health evaluation looked at.
    var observation: ClusterObservation
    /// The health.
    var report: HealthReport

    init(_ survey: StatusSurvey, monmap: MonMap, thresholds: HealthThresholds) {
        rows = StatusRow.rows(survey, monmap: monmap)
        let cluster = survey.clusterMonmap
        let named = !monmap.members.contains(where: MonMap.isAnonymous)
        let replies = Dictionary(survey.replies.map { ($0.key.description, $0.value) }, uniquingKeysWith: { first, _ in first })
        let monitors = rows.map { row -> MonitorObservation in
            let reply = replies[row.address]
            return MonitorObservation(name: row.name, rank: row.rank, address: row.address, status: reply?.status,
                                      monmapEpoch: reply?.monmapEpoch ?? 0, monmap: reply?.monmap ?? [])
        }
        observation = ClusterObservation(members: cluster?.members ?? (named ? monmap.members : []),
                                         monmapEpoch: cluster?.epoch ?? 0, monitors: monitors, scope: .cluster,
                                         expectedMembers: named ? monmap.members : nil)
        report = HealthEvaluator(thresholds: thresholds).evaluate(observation)
    }

    /// How many monitors answered.
    var answered: Int { rows.filter(\.answered).count }

    /// The exit status of `health`: 0 HEALTH_OK, 7 HEALTH_WARN, 8 HEALTH_ERR — but 2 when the
    /// error is a missing quorum and 3 when no monitor answered at all, as every client command says.
    var healthExitCode: ClientExitCode {
        switch report.status {
        case .ok: .ok
        case .warn: .healthWarning
        case .error where answered == 0: .unreachable
        case .error where report.check(.noQuorum) != nil: .noQuorum
        case .error: .healthError
        }
    }
}
