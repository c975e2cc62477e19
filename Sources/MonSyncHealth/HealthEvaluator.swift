import Foundation
import MonSyncMessages

/// Turns what the monitors reported into a ``HealthReport``: which checks are raised, how bad
/// each is, and one detail line per monitor concerned.
///
/// Pure: the same observation always gives the same report, so `monsync health`, `status` and a
/// node's `/health` agree, and every rule is tested without a cluster.
public struct HealthEvaluator: Sendable {
    /// When measured quantities raise checks.
    public var thresholds: HealthThresholds

    /// An evaluator with `thresholds`.
    public init(thresholds: HealthThresholds = .default) {
        self.thresholds = thresholds
    }

    /// The report for `observation`.
    public func evaluate(_ observation: ClusterObservation) -> HealthReport {
        var checks: [HealthCheck] = []
        let names = Names(observation)
        if let quorum = Self.quorumView(observation) {
            if let down = monDown(observation, quorum: quorum, names: names) { checks.append(down) }
        } else {
            checks.append(noQuorum(observation, names: names))
        }
        checks += sync(observation, names: names)
        checks += store(observation)
        if let mismatch = monmapMismatch(observation) { checks.append(mismatch) }
        return HealthReport(checks: checks)
    }

    // MARK: Quorum

    /// The quorum as its most recent member reports it: the answering leader or peon with the
    /// highest election epoch (the leader's view first at equal epochs).
    static func quorumView(_ observation: ClusterObservation) -> MonitorStatus? {
        observation.monitors.filter(\.inQuorum).compactMap(\.status)
            .max { ($0.electionEpoch, $0.state == .leader ? 1 : 0) < ($1.electionEpoch, $1.state == .leader ? 1 : 0) }
    }

    private func monDown(_ observation: ClusterObservation, quorum: MonitorStatus, names: Names) -> HealthCheck? {
        let members = observation.members.isEmpty ? observation.monitors.compactMap { m in m.rank.map { MonitorEntity(rank: $0, name: m.name, address: m.address) } }
                                                  : observation.members
        let down = members.filter { !quorum.quorum.contains($0.rank) }
        guard !down.isEmpty else { return nil }
        let quorumNames = quorum.quorum.map(names.name(ofRank:)).joined(separator: ",")
        let detail = down.map { member in
            "mon.\(member.name) (rank \(member.rank)) at \(member.address) is down (\(reason(member, observation)))"
        }
        return HealthCheck(code: .monDown, severity: .warn,
                           summary: "\(down.count)/\(members.count) mons down, quorum \(quorumNames)", detail: detail)
    }

    /// Why a member is out of the quorum, as far as this observation tells.
    private func reason(_ member: MonitorEntity, _ observation: ClusterObservation) -> String {
        let observed = observation.monitors.first { $0.rank == member.rank || $0.address == member.address }
        guard let observed else { return "out of quorum" }
        guard let status = observed.status else { return "out of quorum; no answer" }
        return "out of quorum; \(status.state)"
    }

    private func noQuorum(_ observation: ClusterObservation, names: Names) -> HealthCheck {
        let answered = observation.monitors.filter(\.answered)
        let summary: String
        switch observation.scope {
        case .cluster where answered.isEmpty:
            summary = "no monitor answered (\(observation.monitors.count) of \(observation.monitors.count) unreachable)"
        case .cluster:
            summary = "no quorum: \(answered.count) of \(observation.monitors.count) monitors answered, none is in a quorum"
        case let .monitor(name):
            let state = observation.monitors.first { $0.name == name }?.status.map { "\($0.state)" } ?? "unknown"
            summary = "mon.\(name) is not in a quorum (\(state))"
        }
        let detail = observation.monitors.map { monitor -> String in
            let rank = monitor.rank.map { " (rank \($0))" } ?? ""
            guard let status = monitor.status else { return "mon.\(monitor.name)\(rank) at \(monitor.address) did not answer" }
            return "mon.\(monitor.name)\(rank) at \(monitor.address) is \(status.state), election epoch \(status.electionEpoch), "
                + "last committed \(status.lastCommitted)"
        }
        return HealthCheck(code: .noQuorum, severity: .error, summary: summary, detail: detail)
    }

    // MARK: Store sync

    private func sync(_ observation: ClusterObservation, names: Names) -> [HealthCheck] {
        var syncing: [(MonitorObservation, String)] = []
        var stalled: [(MonitorObservation, String)] = []
        var failed: [(MonitorObservation, String)] = []
        for monitor in observation.monitors {
            guard let status = monitor.status else { continue }
            let requester = status.sync?.requester
            let running = requester.map { [.requesting, .streaming, .swapping].contains($0.phase) } ?? false
            if status.state == .synchronizing || running {
                let progress = requester.map { Self.describe($0, names: names) } ?? "synchronizing"
                syncing.append((monitor, "mon.\(monitor.name): \(progress)"))
                let idle = Duration.milliseconds(Int64(clamping: status.vitals?.syncIdleMilliseconds ?? 0))
                if running, idle >= thresholds.syncStallTimeout {
                    stalled.append((monitor, "mon.\(monitor.name): no progress for \(Self.seconds(idle)) (\(progress))"))
                }
            } else if let requester, requester.phase == .failed, !monitor.inQuorum {
                failed.append((monitor, "mon.\(monitor.name): its last store sync failed after \(requester.chunks) chunks "
                    + "(\(Self.bytes(requester.bytes))); it is \(status.state)"))
            }
        }
        var checks: [HealthCheck] = []
        if !syncing.isEmpty {
            let who = syncing.map(\.0.name).joined(separator: ",")
            checks.append(HealthCheck(code: .monSyncing, severity: .warn,
                                      summary: "\(syncing.count) \(syncing.count == 1 ? "monitor is" : "monitors are") syncing the store: \(who)",
                                      detail: syncing.map(\.1)))
        }
        if !stalled.isEmpty {
            let who = stalled.map(\.0.name).joined(separator: ",")
            checks.append(HealthCheck(code: .syncStalled, severity: .warn,
                                      summary: "\(stalled.count) store \(stalled.count == 1 ? "sync" : "syncs") without progress for "
                                          + "\(Self.seconds(thresholds.syncStallTimeout)) or more: \(who)",
                                      detail: stalled.map(\.1)))
        }
        if !failed.isEmpty {
            let who = failed.map(\.0.name).joined(separator: ",")
            checks.append(HealthCheck(code: .syncFailed, severity: .warn,
                                      summary: "\(failed.count) \(failed.count == 1 ? "monitor's" : "monitors'") last store sync failed: \(who)",
                                      detail: failed.map(\.1)))
        }
        return checks
    }

    /// `streaming from mon.b, 38.0 MiB of ~48.8 MiB (78%), 38 chunks, 148.0 MiB/s, eta 0.1 s`.
    static func describe(_ requester: MonitorSyncStatus.Requester, names: Names) -> String {
        var text = "\(requester.phase)"
        if !requester.provider.isEmpty { text += " from \(names.name(ofAddress: requester.provider))" }
        text += ", \(bytes(requester.bytes))"
        if requester.estimatedBytes > 0 {
            let percent = min(100, Int(Double(requester.bytes) / Double(requester.estimatedBytes) * 100))
            text += " of ~\(bytes(requester.estimatedBytes)) (\(percent)%)"
        }
        text += ", \(requester.chunks) chunks"
        if requester.rate > 0 { text += ", \(bytes(requester.rate))/s" }
        if let eta = requester.etaMilliseconds { text += ", eta \(seconds(.milliseconds(Int64(clamping: eta))))" }
        return text
    }

    // MARK: Store space

    private func store(_ observation: ClusterObservation) -> [HealthCheck] {
        var full: [String] = []
        var nearlyFull: [String] = []
        for monitor in observation.monitors {
            guard let vitals = monitor.status?.vitals, let percent = vitals.availablePercent else { continue }
            let line = "mon.\(monitor.name): \(String(format: "%.1f", percent))% available "
                + "(\(Self.bytes(vitals.filesystemAvailableBytes)) of \(Self.bytes(vitals.filesystemBytes))) on the store's filesystem; "
                + "store \(Self.bytes(vitals.storeBytes))"
            if percent < thresholds.storeFullPercent {
                full.append(line)
            } else if percent < thresholds.storeNearlyFullPercent {
                nearlyFull.append(line)
            }
        }
        var checks: [HealthCheck] = []
        if !full.isEmpty {
            checks.append(HealthCheck(code: .storeFull, severity: .error,
                                      summary: "\(full.count) \(full.count == 1 ? "store has" : "stores have") under "
                                          + "\(Self.percent(thresholds.storeFullPercent)) space left", detail: full))
        }
        if !nearlyFull.isEmpty {
            checks.append(HealthCheck(code: .storeNearlyFull, severity: .warn,
                                      summary: "\(nearlyFull.count) \(nearlyFull.count == 1 ? "store has" : "stores have") under "
                                          + "\(Self.percent(thresholds.storeNearlyFullPercent)) space left", detail: nearlyFull))
        }
        return checks
    }

    // MARK: Monmap

    private func monmapMismatch(_ observation: ClusterObservation) -> HealthCheck? {
        var detail: [String] = []
        let reporting = observation.monitors.filter { $0.answered && $0.monmapEpoch > 0 }
        let maps = Set(reporting.map { MonmapKey(epoch: $0.monmapEpoch, members: $0.monmap) })
        if maps.count > 1 {
            for monitor in reporting {
                detail.append("mon.\(monitor.name) runs monmap epoch \(monitor.monmapEpoch): "
                    + monitor.monmap.map { "\($0.name)=\($0.address)" }.joined(separator: ","))
            }
        }
        if let expected = observation.expectedMembers, !observation.members.isEmpty {
            let given = Set(expected.map { "\($0.name)=\(Self.normalized($0.address))" })
            let cluster = Set(observation.members.map { "\($0.name)=\(Self.normalized($0.address))" })
            if given != cluster {
                detail.append("the monmap given lists \(given.sorted().joined(separator: ",")); "
                    + "the cluster's (epoch \(observation.monmapEpoch)) lists \(cluster.sorted().joined(separator: ","))")
            }
        }
        guard !detail.isEmpty else { return nil }
        let summary = maps.count > 1 ? "monitors run \(maps.count) different monmaps" : "the monmap given is not the cluster's"
        return HealthCheck(code: .monmapMismatch, severity: .warn, summary: summary, detail: detail)
    }

    private struct MonmapKey: Hashable {
        var epoch: UInt32
        var members: [MonitorEntity]
    }

    private static func normalized(_ address: String) -> String {
        address.hasSuffix("/") ? String(address.dropLast()) : address
    }

    // MARK: Formatting

    /// `1.5 MiB`, `640 B`: a byte count as people read it (binary units), for every report that shows one.
    public static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `2.5 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.1f s", Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// `30%`, `2.5%`.
    static func percent(_ value: Double) -> String {
        value.rounded() == value ? "\(Int(value))%" : String(format: "%.1f%%", value)
    }
}
