#if ZeroMQ
import CZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncCore
import MonSyncMessages
import MonSyncTestSupport
import MonSyncZeroMQ
import Testing

/// Sync messages that make a node answer an address that never drains must not stall the node.
///
/// The defect this guards against: the sync roles' handlers awaited their sends on the monitor's
/// dispatcher, which handles inbound messages one at a time. A reply to a destination that never
/// drains — a requester that died, or any REPLY_TO a stranger names — waits the transport's send
/// timeout (10 s) per message, and every inbound message waits behind it, Paxos and client
/// commands included: writes stall, leases expire, and the quorum falls apart for as long as such
/// messages keep coming.
///
/// Three real `monsync node` processes over ZeroMQ, a, b and c; the monmap also names d and e, two
/// monitors that are down (requesters that died: a node may refuse strangers, but it must answer
/// its members). The test process attacks the three for 20 s with ZeroMQ identities of its own —
/// transports bound on free ports or on e's address, and raw DEALERs whose routing id claims d's
/// address or one where nobody listens — while a client keeps writing with `monsync put` and
/// `monsync status` watches the quorum. Bounds are generous next to a healthy cluster (writes take
/// milliseconds) and far below the defect (10 s per message, minutes in all).
@Suite("Dead addresses across processes", .timeLimit(.minutes(2)))
struct DeadAddressTests {
    /// How long one write may take: its `--timeout`, across every monitor it tries.
    static let writeBound = 5.0
    /// How long the attack lasts, and the pause between its rounds.
    static let attackRounds = 10
    static let roundInterval: Duration = .seconds(2)
    /// After the attack: writes go on this long; then the three must be in quorum within `recoveryBound`.
    static let afterAttack: Duration = .seconds(5)
    static let recoveryBound: Duration = .seconds(15)
    /// Identities that send START (each a transport of its own, bound on a free port).
    static let startIdentities = 30

    /// One `monsync put` of the writer.
    struct Write: Sendable {
        var key: String
        /// Seconds after the attack began.
        var began: Double
        var seconds: Double
        var acknowledged: Bool
        var detail: String
    }

    /// One `monsync status` of the observer.
    struct Observation: Sendable {
        var at: Double
        /// By monitor name.
        var rows: [String: Row]

        struct Row: Sendable {
            var answered: Bool
            var state: String
            var epoch: Int?
            var quorum: Set<String>
            var leader: String?
            /// The sync roles' counters: what the attack made this monitor do.
            var sync = ""
            /// Syncs granted, RETRY answers, syncs served and refused, together.
            var activity = 0
        }

        var summary: String {
            let cells = rows.keys.sorted().map { name -> String in
                let row = rows[name]!
                guard row.answered else { return "\(name): no answer" }
                return "\(name): \(row.state) e\(row.epoch.map(String.init) ?? "?") q[\(row.quorum.sorted().joined(separator: ","))] leader \(row.leader ?? "-")"
            }
            return String(format: "t=%5.1fs  ", at) + cells.joined(separator: "; ")
        }
    }

    /// The status rows (`monsync status --json`), by name; monitors that did not answer have `answered` false.
    static func status(_ monmap: String, names: [String], timeout: Double) async -> [String: Observation.Row] {
        var rows: [String: Observation.Row] = [:]
        for name in names { rows[name] = Observation.Row(answered: false, state: "no answer", epoch: nil, quorum: [], leader: nil) }
        guard let result = try? await monsync(["status", "--monmap", monmap, "--timeout", String(timeout), "--json"],
                                              timeout: .seconds(timeout + 20)),
              let parsed = try? statusMonitors(result.stdout) else { return rows }
        for row in parsed where (row["answered"] as? Bool) == true {
            guard let name = row["name"] as? String else { continue }
            var sync = ""
            var activity = 0
            if let section = row["sync"] as? [String: Any] {
                let leader = section["leader"] as? [String: Any] ?? [:]
                let provider = section["provider"] as? [String: Any] ?? [:]
                let counters = [leader["granted"], leader["retryAnswers"], provider["served"], provider["refusals"]].map { $0 as? Int ?? 0 }
                sync = "granted \(counters[0]), RETRY answers \(counters[1]), syncs served \(counters[2]), refused \(counters[3])"
                activity = counters.reduce(0, +)
            }
            rows[name] = Observation.Row(answered: true, state: row["state"] as? String ?? "?", epoch: row["electionEpoch"] as? Int,
                                         quorum: Set((row["quorum"] as? [String]) ?? []), leader: row["leader"] as? String,
                                         sync: sync, activity: activity)
        }
        return rows
    }

    /// Whether every one of `names` answered, in one quorum of all of them, with one leader and one epoch.
    static func fullQuorum(_ rows: [String: Observation.Row], names: [String]) -> (leader: String, epoch: Int)? {
        let answered = names.compactMap { rows[$0] }.filter(\.answered)
        guard answered.count == names.count, answered.allSatisfy({ $0.quorum == Set(names) }),
              let leader = answered.first?.leader, answered.allSatisfy({ $0.leader == leader }),
              let epoch = answered.first?.epoch, answered.allSatisfy({ $0.epoch == epoch }) else { return nil }
        return (leader, epoch)
    }

    /// a, b and c running; d and e members that are down. `monmap` names a, b and c only (same
    /// ranks), for the clients, so that writes hunt only those. (`status` learns d and e from the
    /// nodes' monmap and asks them too, but waits at most its attempt timeout, 1 s, for them.)
    ///
    /// The fast timers, with lease-ack and accept timeouts of 8 s: a loaded machine does not cost an
    /// election, and one dead-address send (10 s) still does. Logs at info: the elections and
    /// bootstraps a node goes through are counted from them.
    static func startCluster(in directory: URL) async throws
        -> (names: [String], nodes: [String: RunningProcess], addresses: [String: TransportAddress], monmap: String) {
        let names = ["a", "b", "c"]
        let clusterMonmap = makeMonmap(names + ["d", "e"])
        let addresses = Dictionary(uniqueKeysWithValues: clusterMonmap.split(separator: ",").map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), try! TransportAddress(String(parts[1])))
        })
        let monmap = names.map { "\($0)=\(addresses[$0]!)" }.joined(separator: ",")
        let timers = ["--probe-timeout", "0.5", "--election-timeout", "1", "--lease", "3", "--lease-renew-interval", "1",
                      "--lease-ack-timeout", "8", "--accept-timeout", "8", "--shutdown-timeout", "3", "--log-level", "info"]
        var nodes: [String: RunningProcess] = [:]
        for name in names {
            nodes[name] = try await RunningProcess(["node", "--name", name, "--monmap", clusterMonmap,
                                              "--store", directory.appendingPathComponent(name).path] + timers)
        }
        return (names, nodes, addresses, monmap)
    }

    @Test("STARTs naming dead REPLY_TO addresses and START_CHUNKS from dead or stranger requesters stall no write and cost no election")
    func deadAddressesDoNotStallTheCluster() async throws {
        try await withTemporaryDirectory { directory in
            let (names, nodes, addresses, monmap) = try await Self.startCluster(in: directory)
            defer { for node in nodes.values { node.signal(SIGKILL) } }

            // 1. A quorum of three, and a few writes (a committed store: every node may serve a sync).
            let clock = ContinuousClock()
            var deadline = clock.now + .seconds(40)
            var before: (leader: String, epoch: Int)?
            while before == nil && clock.now < deadline {
                before = Self.fullQuorum(await Self.status(monmap, names: names, timeout: 2), names: names)
                if before == nil { try await clock.sleep(for: .milliseconds(300)) }
            }
            let (leader, epoch) = try #require(before, "no quorum of three: \(nodes.mapValues(\.stderrSoFar))")
            for index in 0..<3 {
                let put = try await monsync(["put", "warm-\(index)", "v", "--monmap", monmap, "--timeout", "10"])
                try #require(put.status == 0, "a write before the attack: \(put)")
            }
            let settled = try #require(Self.fullQuorum(await Self.status(monmap, names: names, timeout: 2), names: names),
                                       "the quorum before the attack")
            try #require(settled.leader == leader && settled.epoch == epoch, "an election before the attack: \(settled)")

            // 2. The attackers: identities of the test process, and addresses where nothing listens
            //    (free loopback ports, and an unroutable host).
            var identities: [ZeroMQTransport] = []
            for _ in 0..<Self.startIdentities { identities.append(try await Self.startedTransport()) }
            let taken = Set(identities.map(\.localAddress.description) + addresses.values.map(\.description))  // d and e too
            var deadAddresses: [String] = (0..<6).map { "tcp://10.255.255.1:\(6789 + $0)" }
            while deadAddresses.count < 30 {
                let address = "tcp://127.0.0.1:\(freeTCPPort())"
                if !taken.contains(address) && !deadAddresses.contains(address) { deadAddresses.append(address) }
            }
            let raw = RawDealers()
            defer { raw.terminate() }
            let attack = DeadAddressAttack(nodes: names.map { addresses[$0]! }, identities: identities, deadAddresses: deadAddresses,
                                           deadMember: addresses["d"]!, dyingMember: addresses["e"]!, raw: raw)

            // 3. The attack, a writer and an observer, together.
            let logOffsets = nodes.mapValues { $0.stderrSoFar.utf8.count }
            let startDate = Date()
            let start = clock.now
            let attackLength = Self.roundInterval * Self.attackRounds
            let watchEnd = start + attackLength + Self.afterAttack
            async let attackCounts = attack.run(rounds: Self.attackRounds, interval: Self.roundInterval, from: start)
            async let writes = Self.write(monmap, from: start, until: watchEnd)
            async let observations = Self.observe(monmap, names: names, from: start, until: watchEnd)
            let (counts, written, observed) = await (attackCounts, writes, observations)

            // 4. After the attack: all three in one quorum, and a write goes through.
            deadline = clock.now + Self.recoveryBound
            var after: (leader: String, epoch: Int)?
            var last: [String: Observation.Row] = [:]
            while after == nil && clock.now < deadline {
                last = await Self.status(monmap, names: names, timeout: 2)
                after = Self.fullQuorum(last, names: names)
                if after == nil { try await clock.sleep(for: .milliseconds(500)) }
            }
            let recovered = Observation(at: Self.seconds(from: start, to: clock.now), rows: last)
            let finalPut = try await monsync(["put", "after-attack", "v", "--monmap", monmap, "--timeout", String(Self.writeBound)],
                                             timeout: .seconds(Self.writeBound + 20))

            // The report: what was sent, the writes, the observations, the elections the nodes logged.
            let failed = written.filter { !$0.acknowledged }
            let slowest = written.map(\.seconds).max() ?? 0
            let latencies = written.filter(\.acknowledged).map(\.seconds).sorted()
            let acks = written.filter(\.acknowledged).map { $0.began + $0.seconds }.sorted()
            let end = Self.seconds(from: start, to: watchEnd)
            let stall = zip([0] + acks, acks + [end]).map { $1 - $0 }.max() ?? end
            let epochs = Set(observed.flatMap { $0.rows.values.compactMap(\.epoch) } + last.values.compactMap(\.epoch))
            let leaders = Set(observed.flatMap { $0.rows.values.compactMap(\.leader) } + last.values.compactMap(\.leader))
            let silent = observed.filter { $0.rows.values.contains { !$0.answered } }
            let elections = Dictionary(uniqueKeysWithValues: names.map { name in
                (name, Self.electionLines(String(decoding: Array(nodes[name]!.stderrSoFar.utf8).dropFirst(logOffsets[name]!), as: UTF8.self)))
            })
            let report = """
                attack over \(Self.attackRounds) rounds of \(Self.roundInterval) against \(names.map { "\($0)=\(addresses[$0]!)" }.joined(separator: " ")) \
                (members down: d=\(addresses["d"]!), e=\(addresses["e"]!)): \(counts)
                before: leader \(leader), election epoch \(epoch)
                writes: \(written.count) in \(String(format: "%.0f", end)) s, \(failed.count) not acknowledged within \(Self.writeBound) s; \
                acknowledged: p50 \(String(format: "%.2f", latencies.isEmpty ? 0 : latencies[latencies.count / 2])) s, \
                slowest write \(String(format: "%.2f", slowest)) s; longest time without an acknowledged write \(String(format: "%.1f", stall)) s
                \(written.filter { !$0.acknowledged || $0.seconds > 1 }.map { String(format: "  t=%5.1fs %5.2fs %@ %@", $0.began, $0.seconds, $0.acknowledged ? "ok  " : "FAIL", $0.detail) }.joined(separator: "\n"))
                status (every 2 s, each monitor given 3 s to answer):
                \(observed.map { "  " + $0.summary }.joined(separator: "\n"))
                after (\(after.map { "quorum of three, leader \($0.leader), epoch \($0.epoch)" } ?? "NO quorum of three within \(Self.recoveryBound)")):
                  \(recovered.summary)
                \(names.compactMap { name in last[name].flatMap { $0.sync.isEmpty ? nil : "  \(name) sync: \($0.sync)" } }.joined(separator: "\n"))
                final write: \(finalPut.status == 0 ? "ok" : "FAILED: \(finalPut.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                elections and bootstraps logged since the attack began:
                \(names.map { "  \($0): " + Self.summarize(elections[$0]!, since: startDate) }.joined(separator: "\n"))
                """
            print(report)

            #expect(failed.count == 0, "\(failed.count) of \(written.count) writes were not acknowledged within \(Self.writeBound) s; no write was acknowledged for \(String(format: "%.1f", stall)) s\n\(report)")
            #expect(slowest <= Self.writeBound + 3, "the slowest write took \(String(format: "%.1f", slowest)) s")
            #expect(silent.count == 0, "\(silent.count) of \(observed.count) status rounds had a monitor that did not answer within 3 s")
            #expect(epochs == [epoch] && leaders == [leader],
                    "one leader, one election epoch throughout: epochs seen \(epochs.sorted()) (before: \(epoch)), leaders \(leaders.sorted()) (before: \(leader))\(epochs.isEmpty ? ": no monitor answered status at all" : "")")
            #expect(elections.values.map(\.count).reduce(0, +) == 0,
                    "the nodes logged elections or bootstraps during the attack: \(names.map { "\($0) \(elections[$0]!.count)" }.joined(separator: ", "))")
            #expect(after?.leader == leader && after?.epoch == epoch,
                    "after the attack: \(after.map { "leader \($0.leader), epoch \($0.epoch)" } ?? "no quorum of three within \(Self.recoveryBound)") (before: leader \(leader), epoch \(epoch)); \(recovered.summary)")
            #expect(finalPut.status == 0, "a write after the attack: \(finalPut.stderr)")
            #expect(counts.isComplete(rounds: Self.attackRounds), "the attack was not sent in full: \(counts)")
            if after != nil {
                // The attack reached the sync roles (else this test would prove nothing about their sends).
                #expect(last.values.contains { $0.activity > 0 }, "no monitor reports a sync granted, a RETRY answered, or a START_CHUNKS served or refused: \(report)")
            }

            for identity in identities { await identity.shutdown() }
        }
    }

    /// The lines of a node's log that tell of an election or a bootstrap (a monitor leaving its quorum).
    static func electionLines(_ log: String) -> [String] {
        log.split(separator: "\n").filter { line in
            ["bootstrap", "election started", "election epoch bumped", "won the election", "joined the quorum"]
                .contains { line.contains($0) }
        }.map(String.init)
    }

    /// The elections in `lines` (from ``electionLines(_:)``): how many bootstraps, why and when the first
    /// (seconds after `since`, to the log's one-second resolution), how many elections, the last epoch named.
    static func summarize(_ lines: [String], since: Date) -> String {
        guard !lines.isEmpty else { return "none" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZ"
        func field(_ name: String, of line: String) -> String? {
            guard let range = line.range(of: " \(name)=") ?? line.range(of: ": \(name)=") else { return nil }
            let rest = line[range.upperBound...]
            let end = rest.range(of: " [MonSync")?.lowerBound ?? rest.endIndex
            // Metadata is sorted by key: the value ends at the next " key=", or at the source module.
            let next = rest[..<end].range(of: #" [a-z_]+="#, options: .regularExpression)?.lowerBound ?? end
            return String(rest[..<next])
        }
        let bootstraps = lines.filter { $0.hasSuffix("bootstrap") }
        var reasons: [String: Int] = [:]
        for line in bootstraps { reasons[field("reason", of: line) ?? "?", default: 0] += 1 }
        let epochs = lines.compactMap { field("epoch", of: $0).flatMap { Int($0) } } + lines.compactMap { field("to", of: $0).flatMap { Int($0) } }
        var summary = "\(bootstraps.count) bootstraps (" + reasons.sorted { $0.value > $1.value }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ") + ")"
        if let first = bootstraps.first, let stamp = first.split(separator: " ").first, let date = formatter.date(from: String(stamp)) {
            summary += String(format: ", the first %.0f s after the attack began", date.timeIntervalSince(since))
        }
        summary += "; \(lines.filter { $0.hasSuffix("election started") }.count) elections started"
        if let epoch = epochs.max() { summary += ", election epoch up to \(epoch)" }
        summary += "; \(lines.filter { $0.hasSuffix("won the election") || $0.hasSuffix("joined the quorum as peon") }.count) quorums formed"
        return summary
    }

    /// Seconds from `start` to `instant`.
    static func seconds(from start: ContinuousClock.Instant, to instant: ContinuousClock.Instant) -> Double {
        let (whole, attoseconds) = start.duration(to: instant).components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// The writer: `monsync put` after `monsync put` (each bounded by ``writeBound``) until `end`.
    static func write(_ monmap: String, from start: ContinuousClock.Instant, until end: ContinuousClock.Instant) async -> [Write] {
        let clock = ContinuousClock()
        var writes: [Write] = []
        var index = 0
        while clock.now < end {
            let key = "during-\(index)"
            index += 1
            let began = clock.now
            var acknowledged = false
            var detail = ""
            do {
                let put = try await monsync(["put", key, "v", "--monmap", monmap, "--timeout", String(writeBound)],
                                            timeout: .seconds(writeBound + 20))
                acknowledged = put.status == 0
                detail = (acknowledged ? put.stdout : put.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                detail = "\(error)"
            }
            writes.append(Write(key: key, began: seconds(from: start, to: began), seconds: seconds(from: began, to: clock.now),
                                acknowledged: acknowledged, detail: detail))
            try? await clock.sleep(for: .milliseconds(200))
        }
        return writes
    }

    /// The observer: `monsync status` every 2 s until `end`, each monitor given 3 s to answer.
    static func observe(_ monmap: String, names: [String], from start: ContinuousClock.Instant,
                        until end: ContinuousClock.Instant) async -> [Observation] {
        let clock = ContinuousClock()
        var observations: [Observation] = []
        while clock.now < end {
            let at = clock.now
            let rows = await status(monmap, names: names, timeout: 3)
            observations.append(Observation(at: seconds(from: start, to: at), rows: rows))
            try? await clock.sleep(until: at + .seconds(2))
        }
        return observations
    }

    /// A ZeroMQ transport on a free 127.0.0.1 port, retrying if the port was taken meanwhile.
    static func startedTransport() async throws -> ZeroMQTransport {
        var attempts = 0
        while true {
            attempts += 1
            let transport = try ZeroMQTransport(address: try TransportAddress("tcp://127.0.0.1:\(freeTCPPort())"),
                                                options: TransportOptions(sendTimeout: .seconds(5)),
                                                configuration: ZeroMQConfiguration(linger: .seconds(1)))
            do {
                try await transport.start()
                return transport
            } catch {
                if case .bindFailed = error, attempts < 5 { continue }
                throw error
            }
        }
    }
}

/// What the test process sends, round after round.
///
/// Every round, to every node (so to the leader and to both peons):
/// - strangers: STARTs whose REPLY_TO names a dead address that is not a member, one from each of
///   the START identities (spread over the nodes); a START_CHUNKS from a requester that dies at
///   once (a transport bound on a free port for the occasion, shut down after the send); a
///   START_CHUNKS from a raw DEALER whose routing id claims a dead address. A node that serves
///   strangers answers each into nothing: START_REPLY, RETRY (`not_leader`), CHUNKs or ABORT.
/// - member d, down (raw DEALERs claiming d's address): a START — the leader grants it and answers
///   d, a peon forwards it to the leader, which answers d —, a START whose REPLY_TO is e, and two
///   START_CHUNKS, which a provider serves (its chunks go to d) or refuses (its ABORT goes to d).
/// - member e, dying: a transport bound on e's address sends a START_CHUNKS and a START, and is
///   shut down at once: the answers find nobody.
final class DeadAddressAttack: Sendable {
    let nodes: [TransportAddress]
    /// One dispatcher (never run: nothing comes back) per identity, to validate and encode what it sends.
    let identities: [Dispatcher]
    let deadAddresses: [String]
    let deadMember: TransportAddress
    let dyingMember: TransportAddress
    let raw: RawDealers

    struct Counts: Sendable, CustomStringConvertible {
        var rounds = 0
        var nodes = 0
        var identities = 0
        var strangerStarts = 0
        var strangerStartsFailed = 0
        var deadRequesterStartChunks = 0
        var strangerStartChunks = 0
        var deadMemberMessages = 0
        var dyingMemberMessages = 0

        var description: String {
            "\(strangerStarts) STARTs with a dead REPLY_TO from \(identities) stranger identities (\(strangerStartsFailed) not sent), "
                + "\(deadRequesterStartChunks) START_CHUNKS from dying strangers, \(strangerStartChunks) from strangers claiming a dead address, "
                + "\(deadMemberMessages) STARTs and START_CHUNKS from d (down), \(dyingMemberMessages) from e (dying)"
        }

        /// Whether libzmq took every message of `rounds` rounds.
        func isComplete(rounds: Int) -> Bool {
            strangerStartsFailed == 0 && strangerStarts == rounds * identities && deadRequesterStartChunks == rounds * nodes
                && strangerStartChunks == rounds * nodes && deadMemberMessages == rounds * nodes * 4
                && dyingMemberMessages == rounds * nodes * 2
        }
    }

    init(nodes: [TransportAddress], identities: [ZeroMQTransport], deadAddresses: [String],
         deadMember: TransportAddress, dyingMember: TransportAddress, raw: RawDealers) {
        self.nodes = nodes
        self.identities = identities.map { Dispatcher(transport: $0, codec: .monitor()) }
        self.deadAddresses = deadAddresses
        self.deadMember = deadMember
        self.dyingMember = dyingMember
        self.raw = raw
    }

    static func start(replyTo: String? = nil) -> MMonSync {
        MMonSync(op: .start, replyTo: replyTo.map { MonitorEntity(rank: -1, name: "", address: $0) },
                 session: UInt64.random(in: 1...UInt64.max), requesterVersion: 0)
    }

    static func startChunks() -> MMonSync {
        MMonSync(op: .startChunks, session: UInt64.random(in: 1...UInt64.max), sequence: 1, requesterVersion: 0, window: 8)
    }

    func run(rounds: Int, interval: Duration, from start: ContinuousClock.Instant) async -> Counts {
        let clock = ContinuousClock()
        var counts = Counts(rounds: rounds, nodes: nodes.count, identities: identities.count)
        let codec = MessageCodec.monitor()
        for round in 0..<rounds {
            try? await clock.sleep(until: start + interval * round)
            // Strangers: STARTs naming dead REPLY_TO addresses, all identities at once.
            let sent = await withTaskGroup(of: Bool.self) { group in
                for (index, identity) in identities.enumerated() {
                    let node = nodes[(index + round) % nodes.count]
                    let message = Self.start(replyTo: deadAddresses[(index + round * 7) % deadAddresses.count])
                    group.addTask { (try? await identity.send(message, to: node)) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            counts.strangerStarts += sent
            counts.strangerStartsFailed += identities.count - sent
            // Strangers: START_CHUNKS from requesters that die at once.
            counts.deadRequesterStartChunks += await withTaskGroup(of: Bool.self) { group in
                for node in nodes {
                    group.addTask {
                        guard let requester = try? await DeadAddressTests.startedTransport() else { return false }
                        let ok = (try? await Dispatcher(transport: requester, codec: .monitor()).send(Self.startChunks(), to: node)) != nil
                        await requester.shutdown()  // flushes within the linger, then nobody listens there
                        return ok
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            for (index, node) in nodes.enumerated() {
                // Strangers: START_CHUNKS from a routing id that names a dead address.
                let stranger = deadAddresses[(round * nodes.count + index + 3) % deadAddresses.count]
                if raw.send(codec.encode(Self.startChunks()), to: node.description, as: stranger) { counts.strangerStartChunks += 1 }
                // Member d, down: one DEALER per node claims its address for the whole attack.
                for message in [Self.start(), Self.start(replyTo: dyingMember.description), Self.startChunks(), Self.startChunks()] {
                    if raw.send(codec.encode(message), to: node.description, as: deadMember.description, keep: true) {
                        counts.deadMemberMessages += 1
                    }
                }
            }
            // Member e, dying: bound on e's own address for two messages to each node, then gone.
            if let dying = try? await startedTransport(at: dyingMember) {
                let dispatcher = Dispatcher(transport: dying, codec: .monitor())
                for node in nodes {
                    for message in [Self.startChunks(), Self.start()] where (try? await dispatcher.send(message, to: node)) != nil {
                        counts.dyingMemberMessages += 1
                    }
                }
                await dying.shutdown()
            }
        }
        return counts
    }

    /// A transport on `address` (e's, free again since its last shutdown; retried briefly if not yet).
    private func startedTransport(at address: TransportAddress) async throws -> ZeroMQTransport {
        var attempts = 0
        while true {
            attempts += 1
            let transport = try ZeroMQTransport(address: address, options: TransportOptions(sendTimeout: .seconds(5)),
                                                configuration: ZeroMQConfiguration(linger: .seconds(1)))
            do {
                try await transport.start()
                return transport
            } catch {
                guard case .bindFailed = error, attempts < 10 else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// Raw libzmq DEALERs with any routing id: a ZeroMQ peer may claim any address (docs/ZEROMQ.md).
final class RawDealers: @unchecked Sendable {
    // @unchecked Sendable: a libzmq context is thread-safe; every socket is used under `lock` only.
    private let context: UnsafeMutableRawPointer
    private let lock = NSLock()
    /// DEALERs kept open, by endpoint and routing id: ROUTER_HANDOVER gives a routing id to its
    /// latest connection, so one identity talks to one node through one connection.
    private var kept: [String: UnsafeMutableRawPointer] = [:]

    init() { context = zmq_ctx_new() }

    /// Sends `bytes` to `endpoint` from a DEALER whose routing id is `identity`: a new one closed at
    /// once (libzmq delivers within the linger), or with `keep` the one kept for that pair.
    /// Returns whether libzmq took the message.
    func send(_ bytes: [UInt8], to endpoint: String, as identity: String, keep: Bool = false) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let key = endpoint + " " + identity
        let socket: UnsafeMutableRawPointer
        if keep, let open = kept[key] {
            socket = open
        } else {
            guard let made = zmq_socket(context, ZMQ_DEALER) else { return false }
            var linger: Int32 = 2000
            let identityBytes = Array(identity.utf8)
            guard zmq_setsockopt(made, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size) == 0,
                  identityBytes.withUnsafeBytes({ zmq_setsockopt(made, ZMQ_ROUTING_ID, $0.baseAddress, $0.count) }) == 0,
                  zmq_connect(made, endpoint) == 0 else {
                zmq_close(made)
                return false
            }
            socket = made
            if keep { kept[key] = made }
        }
        defer { if !keep { zmq_close(socket) } }
        return bytes.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, 0) } == bytes.count
    }

    /// Closes the kept DEALERs and ends the context once every socket's linger is over.
    func terminate() {
        lock.lock()
        for socket in kept.values { zmq_close(socket) }
        kept.removeAll()
        lock.unlock()
        zmq_ctx_term(context)
    }
}
#endif
