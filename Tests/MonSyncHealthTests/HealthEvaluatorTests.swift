import Foundation
import MonSyncHealth
import MonSyncMessages
import Testing

/// Builds observations of a three-monitor cluster (a, b, c at ranks 0–2).
enum Cluster {
    static let members = [MonitorEntity(rank: 0, name: "a", address: "tcp://127.0.0.1:7001"),
                          MonitorEntity(rank: 1, name: "b", address: "tcp://127.0.0.1:7002"),
                          MonitorEntity(rank: 2, name: "c", address: "tcp://127.0.0.1:7003")]

    static func status(_ rank: Int32, _ state: MonitorState, quorum: [Int32] = [0, 1, 2], epoch: UInt32 = 6,
                       sync: MonitorSyncStatus? = nil, vitals: MonitorVitals? = nil) -> MonitorStatus {
        let serving = state == .leader || state == .peon
        return MonitorStatus(state: state, rank: rank, name: members[Int(rank)].name, electionEpoch: epoch,
                             quorum: serving ? quorum : [], leader: serving ? quorum.first : nil, firstCommitted: 1,
                             lastCommitted: 10, sync: sync, vitals: vitals)
    }

    static func monitor(_ rank: Int32, _ status: MonitorStatus?, monmapEpoch: UInt32 = 1,
                        monmap: [MonitorEntity] = members) -> MonitorObservation {
        let member = members[Int(rank)]
        return MonitorObservation(name: member.name, rank: rank, address: member.address, status: status,
                                  monmapEpoch: status == nil ? 0 : monmapEpoch, monmap: status == nil ? [] : monmap)
    }

    static func observe(_ monitors: [MonitorObservation], expected: [MonitorEntity]? = nil) -> ClusterObservation {
        ClusterObservation(members: members, monmapEpoch: 1, monitors: monitors, expectedMembers: expected)
    }

    static let healthy = [monitor(0, status(0, .leader)), monitor(1, status(1, .peon)), monitor(2, status(2, .peon))]
}

@Suite("Health: the checks and what raises them")
struct HealthEvaluatorTests {
    let evaluator = HealthEvaluator()

    @Test("every monitor in the quorum: HEALTH_OK, no check")
    func healthy() {
        let report = evaluator.evaluate(Cluster.observe(Cluster.healthy, expected: Cluster.members))
        #expect(report.status == .ok && report.checks.isEmpty)
        #expect(report.summaryLine == "HEALTH_OK")
    }

    @Test("a monitor out of the quorum: MON_DOWN, a warning, as Ceph words it; its detail says why")
    func monDown() throws {
        let silent = Cluster.observe([Cluster.monitor(0, Cluster.status(0, .leader, quorum: [0, 1])),
                                      Cluster.monitor(1, Cluster.status(1, .peon, quorum: [0, 1])), Cluster.monitor(2, nil)])
        let report = evaluator.evaluate(silent)
        #expect(report.status == .warn)
        let check = try #require(report.check(.monDown))
        #expect(check.summary == "1/3 mons down, quorum a,b")
        #expect(check.detail == ["mon.c (rank 2) at tcp://127.0.0.1:7003 is down (out of quorum; no answer)"])
        #expect(report.detailText == """
            HEALTH_WARN 1/3 mons down, quorum a,b
            [WRN] MON_DOWN: 1/3 mons down, quorum a,b
                mon.c (rank 2) at tcp://127.0.0.1:7003 is down (out of quorum; no answer)
            """)

        // A monitor that answers but probes is down too, and says so.
        var probing = silent
        probing.monitors[2] = Cluster.monitor(2, Cluster.status(2, .probing))
        #expect(evaluator.evaluate(probing).check(.monDown)?.detail == ["mon.c (rank 2) at tcp://127.0.0.1:7003 is down (out of quorum; probing)"])
    }

    @Test("the quorum is the newest member's view: a stale peon's older quorum does not hide a monitor down")
    func newestQuorum() {
        let observation = Cluster.observe([Cluster.monitor(0, Cluster.status(0, .leader, quorum: [0, 1], epoch: 8)),
                                           Cluster.monitor(1, Cluster.status(1, .peon, quorum: [0, 1, 2], epoch: 6)),
                                           Cluster.monitor(2, nil)])
        #expect(evaluator.evaluate(observation).check(.monDown)?.summary == "1/3 mons down, quorum a,b")
    }

    @Test("no monitor in a quorum: NO_QUORUM, an error; no answer at all says so")
    func noQuorum() throws {
        let electing = Cluster.observe([Cluster.monitor(0, Cluster.status(0, .electing, epoch: 7)), Cluster.monitor(1, nil), Cluster.monitor(2, nil)])
        let report = evaluator.evaluate(electing)
        #expect(report.status == .error)
        let check = try #require(report.check(.noQuorum))
        #expect(check.summary == "no quorum: 1 of 3 monitors answered, none is in a quorum")
        #expect(check.detail.first == "mon.a (rank 0) at tcp://127.0.0.1:7001 is electing, election epoch 7, last committed 10")
        #expect(check.detail.last == "mon.c (rank 2) at tcp://127.0.0.1:7003 did not answer")
        #expect(report.check(.monDown) == nil, "NO_QUORUM says it all")

        let silent = Cluster.observe([Cluster.monitor(0, nil), Cluster.monitor(1, nil), Cluster.monitor(2, nil)])
        #expect(evaluator.evaluate(silent).check(.noQuorum)?.summary == "no monitor answered (3 of 3 unreachable)")

        // A node's own view.
        var mine = Cluster.observe([Cluster.monitor(0, Cluster.status(0, .probing))])
        mine.scope = .monitor("a")
        #expect(evaluator.evaluate(mine).check(.noQuorum)?.summary == "mon.a is not in a quorum (probing)")
    }

    @Test("a node in its quorum sees the members outside it as down")
    func monitorScope() {
        var mine = Cluster.observe([Cluster.monitor(0, Cluster.status(0, .leader, quorum: [0, 1]))])
        mine.scope = .monitor("a")
        let report = evaluator.evaluate(mine)
        #expect(report.status == .warn)
        #expect(report.check(.monDown)?.detail == ["mon.c (rank 2) at tcp://127.0.0.1:7003 is down (out of quorum)"])
    }

    @Test("a sync: MON_SYNCING with its progress; past the stall timeout SYNC_STALLED; a failed one out of quorum SYNC_FAILED")
    func sync() throws {
        let requester = MonitorSyncStatus.Requester(phase: .streaming, session: 1, provider: "tcp://127.0.0.1:7002", bytes: 1 << 20,
                                                    keys: 100, chunks: 4, estimatedBytes: 4 << 20, elapsedMilliseconds: 1000,
                                                    rate: 1 << 20, etaMilliseconds: 3000)
        func observe(_ requester: MonitorSyncStatus.Requester, idle: UInt64, state: MonitorState = .synchronizing) -> ClusterObservation {
            Cluster.observe([Cluster.monitor(0, Cluster.status(0, .leader, quorum: [0, 1])),
                             Cluster.monitor(1, Cluster.status(1, .peon, quorum: [0, 1])),
                             Cluster.monitor(2, Cluster.status(2, state, sync: MonitorSyncStatus(requester: requester),
                                                              vitals: MonitorVitals(syncIdleMilliseconds: idle)))])
        }
        let moving = evaluator.evaluate(observe(requester, idle: 500))
        let syncing = try #require(moving.check(.monSyncing))
        #expect(syncing.summary == "1 monitor is syncing the store: c")
        #expect(syncing.detail == ["mon.c: streaming from mon.b, 1.0 MiB of ~4.0 MiB (25%), 4 chunks, 1.0 MiB/s, eta 3.0 s"])
        #expect(moving.check(.syncStalled) == nil)

        let stuck = evaluator.evaluate(observe(requester, idle: 45_000))
        let stalled = try #require(stuck.check(.syncStalled))
        #expect(stalled.summary == "1 store sync without progress for 30.0 s or more: c")
        #expect(stalled.detail.first?.hasPrefix("mon.c: no progress for 45.0 s (streaming from mon.b") == true)
        let patient = HealthEvaluator(thresholds: HealthThresholds(syncStallTimeout: .seconds(60)))
        #expect(patient.evaluate(observe(requester, idle: 45_000)).check(.syncStalled) == nil)

        var failed = requester
        failed.phase = .failed
        let gaveUp = evaluator.evaluate(observe(failed, idle: 0, state: .probing))
        #expect(gaveUp.check(.syncFailed)?.summary == "1 monitor's last store sync failed: c")
        #expect(gaveUp.check(.monSyncing) == nil)
    }

    @Test("store space: under 30% free STORE_NEARLY_FULL, under 5% STORE_FULL (an error); unknown space raises nothing")
    func storeSpace() {
        func observe(available: UInt64) -> ClusterObservation {
            var monitors = Cluster.healthy
            monitors[1].status?.vitals = MonitorVitals(storeBytes: 1 << 20, filesystemBytes: 100 << 30, filesystemAvailableBytes: available << 30)
            monitors[2].status?.vitals = MonitorVitals(storeBytes: 1 << 20)  // in memory: no filesystem
            return Cluster.observe(monitors)
        }
        #expect(evaluator.evaluate(observe(available: 50)).status == .ok)
        let low = evaluator.evaluate(observe(available: 20))
        #expect(low.status == .warn && low.check(.storeNearlyFull)?.summary == "1 store has under 30% space left")
        #expect(low.check(.storeNearlyFull)?.detail == ["mon.b: 20.0% available (20.0 GiB of 100.0 GiB) on the store's filesystem; store 1.0 MiB"])
        let critical = evaluator.evaluate(observe(available: 2))
        #expect(critical.status == .error && critical.check(.storeFull) != nil && critical.check(.storeNearlyFull) == nil)
        let relaxed = HealthEvaluator(thresholds: HealthThresholds(storeNearlyFullPercent: 0, storeFullPercent: 0))
        #expect(relaxed.evaluate(observe(available: 2)).status == .ok)
    }

    @Test("monmaps that differ, between monitors or from the one given: MONMAP_MISMATCH")
    func monmapMismatch() throws {
        var monitors = Cluster.healthy
        var newer = Cluster.members
        newer[2].address = "tcp://127.0.0.1:7013"
        monitors[0] = Cluster.monitor(0, Cluster.status(0, .leader), monmapEpoch: 2, monmap: newer)
        let report = evaluator.evaluate(Cluster.observe(monitors))
        let check = try #require(report.check(.monmapMismatch))
        #expect(check.summary == "monitors run 2 different monmaps")
        #expect(check.detail.first == "mon.a runs monmap epoch 2: a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002,c=tcp://127.0.0.1:7013")

        var given = Cluster.members
        given[1].name = "x"
        let wrong = evaluator.evaluate(Cluster.observe(Cluster.healthy, expected: given))
        #expect(wrong.check(.monmapMismatch)?.summary == "the monmap given is not the cluster's")
        #expect(evaluator.evaluate(Cluster.observe(Cluster.healthy, expected: Cluster.members)).check(.monmapMismatch) == nil)
    }

    @Test("a report lists errors first, and its JSON is Ceph's health detail shape")
    func reportJSON() throws {
        let report = HealthReport(checks: [
            HealthCheck(code: .monDown, severity: .warn, summary: "1/3 mons down, quorum a,b", detail: ["mon.c is down"]),
            HealthCheck(code: .storeFull, severity: .error, summary: "1 store has under 5% space left", detail: ["mon.a: 1%", "x"]),
        ])
        #expect(report.status == .error)
        #expect(report.checks.map(\.code) == [.storeFull, .monDown])
        #expect(report.summaryLine == "HEALTH_ERR 1 store has under 5% space left; 1/3 mons down, quorum a,b")
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        #expect(object["status"] as? String == "HEALTH_ERR")
        let checks = try #require(object["checks"] as? [String: [String: Any]])
        #expect(Set(checks.keys) == ["STORE_FULL", "MON_DOWN"])
        #expect(checks["STORE_FULL"]?["severity"] as? String == "HEALTH_ERR")
        #expect((checks["STORE_FULL"]?["summary"] as? [String: Any])?["message"] as? String == "1 store has under 5% space left")
        #expect((checks["STORE_FULL"]?["summary"] as? [String: Any])?["count"] as? Int == 2)
        #expect((checks["MON_DOWN"]?["detail"] as? [[String: String]]) == [["message": "mon.c is down"]])
    }
}
