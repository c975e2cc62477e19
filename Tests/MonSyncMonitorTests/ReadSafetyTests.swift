import MonSyncCore
import MonSyncMessages
import MonSyncLoopback
import MonSyncMonitor
import MonSyncTestSupport
import Testing

// Regression tests for read safety (stale reads after a majority commit, a leader
// without a lease, a leader behind after bounded recovery) and election liveness.
//
// They use only what survives a rewrite of the protocol logic: the MonitorCluster harness,
// MonitorClient, the loopback network, MMonCommand / MMonCommandReply, and Monitor's
// public properties (the file builds without `@testable`). A reply's `status` is the
// replying monitor's own status. Every test here failed on 79d170d, before the rewrite of
// the protocol logic into a state machine.

fileprivate extension MonitorCluster {
    /// The transport address of the monitor of `rank`.
    func loopbackAddress(ofRank rank: Int) -> TransportAddress {
        monmap.address(of: Int32(rank))!
    }

    /// One GET of `key` sent to the monitor of `rank` only (no retries, no redirects);
    /// `nil` when no reply came within `timeout` of simulated time.
    func getOnce(_ key: String, at rank: Int, using client: MonitorClient,
             timeout: Duration = .seconds(2)) async throws -> MMonCommandReply? {
        try await perform(within: timeout + .seconds(2)) {
            await client.execute(MMonCommand(op: .get, clientID: client.clientID, tid: client.nextTid(), key: key),
                                 at: Int32(rank), timeout: timeout)
        }
    }

    /// A PUT sent to the monitor of `rank` only, resent there with the same tid until it is committed;
    /// returns the version. Records an issue and throws if it is not committed within `limit`.
    @discardableResult
    func putOnlyAt(_ rank: Int, _ key: String, _ value: [UInt8], using client: MonitorClient,
             within limit: Duration = .seconds(60)) async throws -> UInt64 {
        let command = MMonCommand(op: .put, clientID: client.clientID, tid: client.nextTid(), key: key, value: value)
        var elapsed = Duration.zero
        var last: MMonCommandReply?
        while elapsed < limit {
            let reply = try await perform(within: .seconds(10)) {
                await client.execute(command, at: Int32(rank), timeout: .seconds(5))
            }
            if let reply, reply.result == .ok { return reply.version }
            last = reply ?? last
            await idle(for: .milliseconds(500))
            elapsed += .seconds(1)
        }
        Issue.record("PUT \(key) at mon.\(monmap.members[rank].name) not committed within \(limit); last reply: \(last.map { "\($0)" } ?? "none"); statuses: \(await statuses())")
        throw TimedOut(what: "put \(key) at rank \(rank)")
    }
}

/// A short description of a GET reply for failure messages.
private func describe(_ reply: MMonCommandReply?) -> String {
    guard let reply else { return "no reply" }
    let value = String(decoding: reply.value.prefix(24), as: UTF8.self)
    return "\(reply.result) value '\(value)' from mon.\(reply.status.name) (\(reply.status.state), lc \(reply.status.lastCommitted), e\(reply.status.electionEpoch))"
}

/// Whether `reply` is a successful read returning `value`.
private func answered(_ reply: MMonCommandReply?, with value: [UInt8]) -> Bool {
    reply?.result == .ok && reply.map { Array($0.value) } == value
}

@Suite("Read safety and election liveness (regressions)", .serialized)
struct ReadSafetyTests {
    // MARK: 1. Peon lease + majority commit

    @Test("a peon that missed a majority-committed write must not answer a read with the overwritten value")
    func peonLeaseAfterMajorityCommit() async throws {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        try await cluster.startAll()
        #expect(try await cluster.waitForQuorum([0, 1, 2]) == 0)
        let client = try await cluster.client()
        let first = try await cluster.perform { try await client.put("k", Array("v1")) }
        try await cluster.waitForVersion(first, on: [0, 1, 2])
        // The quorum serves the read everywhere (mon.c itself, or by forwarding).
        let before = try await cluster.getOnce("k", at: 2, using: client)
        #expect(answered(before, with: Array("v1")), "mon.c before the fault: \(describe(before))")

        // Everything the leader sends to mon.c is lost from now on; mon.c → leader still works.
        cluster.network.setFaults(LoopbackFaults(drop: 1), from: cluster.loopbackAddress(ofRank: 0), to: cluster.loopbackAddress(ofRank: 2))
        let second = try await cluster.perform { try await client.put("k", Array("v2")) }
        #expect(second > first, "v2 acknowledged at version \(second), after v1's \(first)")
        let peonLC = await cluster.monitor(2)!.lastCommitted

        // At once, a read sent to mon.c alone.
        let reply = try await cluster.getOnce("k", at: 2, using: client)
        let stale = answered(reply, with: Array("v1"))
        #expect(!stale, "stale read: mon.c answered GET k with the overwritten v1 after v2 was acknowledged at version \(second) (mon.c at lc \(peonLC)): \(describe(reply))")
        if let reply, reply.result == .ok, !stale {
            #expect(answered(reply, with: Array("v2")), "GET k at mon.c: \(describe(reply))")
        }
        await client.shutdown()
        await cluster.stopAll()
    }

    // MARK: 2. The leader has no lease

    @Test("a leader cut off from both peons must not answer a read once the others elected and committed a newer value")
    func isolatedLeaderStopsReading() async throws {
        // Elections faster than the leader's lease-ack timeout: the two peons elect a new
        // leader (lease-ack timeout 10 s + 1 s election) before the old leader notices
        // its missing lease acks (next renewal 3 s + lease-ack timeout 10 s).
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(electionTimeout: .seconds(1), paxosMin: 500))
        try await cluster.startAll()
        #expect(try await cluster.waitForQuorum([0, 1, 2]) == 0)
        let client = try await cluster.client()
        let first = try await cluster.perform { try await client.put("k", Array("v1")) }
        try await cluster.waitForVersion(first, on: [0, 1, 2])

        let start = cluster.clock.now
        cluster.network.partition([cluster.loopbackAddress(ofRank: 0)], from: [cluster.loopbackAddress(ofRank: 1), cluster.loopbackAddress(ofRank: 2)])
        let newLeader = try await cluster.waitForQuorum([1, 2], within: .seconds(120))
        #expect(newLeader == 1)
        let second = try await cluster.putOnlyAt(Int(newLeader), "k", Array("v2"), using: client)
        #expect(second > first)
        let committedAfter = start.duration(to: cluster.clock.now)
        let oldLeaderState = await cluster.monitor(0)!.state

        // The client still reaches the old leader; ask it alone.
        let reply = try await cluster.getOnce("k", at: 0, using: client)
        let stale = answered(reply, with: Array("v1"))
        #expect(!stale, "stale read: the isolated old leader mon.a (\(oldLeaderState)) answered GET k with v1 although mon.b and mon.c elected mon.\(cluster.monmap.members[Int(newLeader)].name) and committed v2 at version \(second), \(committedAfter) after the partition: \(describe(reply))")
        await client.shutdown()
        await cluster.stopAll()
    }

    // MARK: 3. Leader behind after bounded recovery

    @Test("a monitor elected leader while behind its peons must not serve reads from its older state")
    func leaderBehindAfterBoundedRecovery() async throws {
        // A LAST carries at most ~300 bytes of versions (at least one); nothing is trimmed.
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 5000, paxosTrimMin: 2500, maxShareBytes: 300))
        try await cluster.startAll()
        #expect(try await cluster.waitForQuorum([0, 1, 2]) == 0)
        let client = try await cluster.client()
        _ = try await cluster.perform { try await client.put("k", Array("before")) }
        let behind = await cluster.monitor(0)!.lastCommitted

        // mon.a is down while mon.b and mon.c commit many versions, each larger than a LAST carries.
        await cluster.stop(0)
        try await cluster.waitForQuorum([1, 2], within: .seconds(120))
        let padding = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
        let latest = try await cluster.perform(within: .seconds(600)) {
            var latest: [UInt8] = []
            for index in 0..<20 {
                latest = Array("v\(index)-") + padding
                try await client.put("k", latest)
                try await client.put("other-\(index)", padding)
            }
            return latest
        }
        let peonsLC = max(await cluster.monitor(1)!.lastCommitted, await cluster.monitor(2)!.lastCommitted)
        #expect(peonsLC >= behind + 40, "mon.a, down at lc \(behind), is to miss 40 versions; the peons are at \(peonsLC)")

        // mon.a (rank 0: it wins the election) comes back.
        let restarted = try await cluster.start(0)
        try await cluster.run(until: "mon.a leads", within: .seconds(300)) { await restarted.state == .leader }

        // The first read mon.a answers (OK or NOT_FOUND) must be the latest value, from a
        // state at least as recent as what the peons committed.
        let led = cluster.clock.now
        var reply: MMonCommandReply?
        while led.duration(to: cluster.clock.now) < .seconds(300) {
            reply = try await cluster.getOnce("k", at: 0, using: client, timeout: .seconds(1))
            if let reply, reply.result == .ok || reply.result == .notFound { break }
            reply = nil
            await cluster.idle(for: .milliseconds(200))
        }
        let statuses = await cluster.statuses()
        let answer = try #require(reply, "mon.a never answered GET k within 300 s of simulated time after it led: \(statuses)")
        let isLatest = answered(answer, with: latest)
        #expect(isLatest, "stale read: mon.\(answer.status.name) (\(answer.status.state)) answered GET k with '\(String(decoding: answer.value.prefix(8), as: UTF8.self))…', not the latest 'v19-…' the peons committed: \(describe(answer))")
        let answeredAt = answer.status.lastCommitted
        #expect(answeredAt >= peonsLC, "mon.\(answer.status.name) answered reads at lc \(answeredAt), behind the peons' \(peonsLC) (\(answer.status.state))")
        await client.shutdown()
        await cluster.stopAll()
    }

    // MARK: 4. Election liveness

    @Test("a monitor whose messages arrive later than the election timeout must not keep the others from a stable quorum")
    func electionLivenessWithOneSlowMonitor() async throws {
        // Every election timer is the same 5 s. Everything mon.a (rank 0, the monitor every
        // election prefers) sends arrives late: 7 s at mon.b, 8 s at mon.c. mon.b <-> mon.c and
        // everything sent to mon.a are immediate. All three start at the same instant.
        // mon.b and mon.c are a healthy majority; mon.a could also lead (its delays are within
        // the lease-ack and accept timeouts) if the others waited long enough for its victory.
        // Today they never settle: mon.b and mon.c form a quorum; mon.a's stale proposal reaches
        // mon.b 2 s later and it re-elects (a stable quorum hearing a proposal from outside);
        // mon.b defers to mon.a, mon.c to mon.b; mon.a wins with [a, b] at its election timeout;
        // when that victory reaches mon.c, left out of it, mon.c calls a new election; mon.b and
        // mon.c form a quorum again... The cycle repeats every 20 s; no quorum lasts over 2 s.
        //
        // (With one delay for both links, mon.b and mon.c receive mon.a's stale proposal at the
        // same simulated instant and the cycle depends on which handles it first; on a loaded
        // machine a run then sometimes escapes into a stable quorum led by mon.a. The different
        // delays take that tie away, but mon.a's victory still reaches mon.b at the very instant
        // mon.b's election timer fires, so under heavy load about 1 run in 15-30 still escapes.
        // Three independent clusters must each settle, so the test fails reliably today.)
        var outcomes: [String] = []
        var settled = 0
        for attempt in 1...3 {
            let (longest, summary) = try await Self.longestQuorum(wanted: .seconds(30), within: .seconds(200))
            if longest >= .seconds(30) { settled += 1 }
            outcomes.append("cluster \(attempt): \(summary)")
        }
        #expect(settled == 3, "no stable quorum: of 3 clusters \(settled) settled into a quorum holding 30 s within 200 s of simulated time; \(outcomes.joined(separator: "; "))")
    }

    /// Runs the slow-mon.a cluster until some majority quorum (same leader, same epoch, the
    /// leader leading) held for `wanted`, or `limit` passed; returns the longest hold and a summary.
    static func longestQuorum(wanted: Duration, within limit: Duration) async throws -> (Duration, String) {
        let cluster = try MonitorCluster(configuration: MonitorConfiguration(paxosMin: 500))
        cluster.network.setFaults(LoopbackFaults(delay: 1, delayRange: .seconds(7)...(.seconds(7))),
                                  from: cluster.loopbackAddress(ofRank: 0), to: cluster.loopbackAddress(ofRank: 1))
        cluster.network.setFaults(LoopbackFaults(delay: 1, delayRange: .seconds(8)...(.seconds(8))),
                                  from: cluster.loopbackAddress(ofRank: 0), to: cluster.loopbackAddress(ofRank: 2))
        try await cluster.startAll()
        var elapsed = Duration.zero
        var current: (leader: Int32, epoch: UInt32)?
        var heldFor = Duration.zero, longest = Duration.zero
        var quorumsSeen = 0
        while elapsed < limit && longest < wanted {
            let statuses = await cluster.liveStatuses()
            var now: (leader: Int32, epoch: UInt32)?
            if let leader = statuses.first(where: { $0.state == .leader }) {
                let members = statuses.filter { $0.state.isInQuorum && $0.leader == leader.rank && $0.electionEpoch == leader.electionEpoch }
                if members.count >= cluster.monmap.majority { now = (leader.rank, leader.electionEpoch) }
            }
            if let now, let held = current, held.leader == now.leader, held.epoch == now.epoch {
                heldFor += .milliseconds(50)
            } else {
                if now != nil { quorumsSeen += 1 }
                heldFor = .zero
            }
            current = now
            longest = max(longest, heldFor)
            await cluster.step()
            elapsed += .milliseconds(50)
        }
        var epochs: [UInt32] = []
        for rank in 0..<3 { epochs.append(await cluster.monitor(rank)!.electionEpoch) }
        await cluster.stopAll()
        return (longest, "longest quorum \(longest) in \(elapsed), \(quorumsSeen) quorums formed and broke up, election epochs now \(epochs)")
    }
}
