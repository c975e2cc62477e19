#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncCore
import MonSyncMessages
import MonSyncTestSupport
import MonSyncZeroMQ
import Testing

/// Issue 14, "Operators first": what an operator or a script meets when one monitor is down, a
/// request is wrong, a write times out, or a listing is long. Real `monsync node` processes over
/// ZeroMQ and the real `monsync` client; each test fails on the client of 103705c (run it with
/// `MONSYNC_TEST_BINARY` set to that build, see docs/CLI.md, "Tests").
///
/// Timeouts are generous wherever a bound is not the point; where it is (`--timeout 2` with one
/// monitor down), the bound is the command's own timeout, far above a healthy command's latency.
@Suite("Operators first (issue 14)", .serialized, .timeLimit(.minutes(3)))
struct OperatorTests {
    // MARK: 1. One monitor down

    @Test("with the rank-0 monitor down (killed, or stopped so it never answers), put, get and status succeed within --timeout 2",
          arguments: [SIGKILL, SIGSTOP])
    func oneMonitorDown(signal: Int32) async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory)
            _ = try await cluster.waitForQuorum()
            // Rank 0 is the first monitor a client used to try, and (lowest rank) the leader.
            try #require(cluster.nodes["a"]).signal(signal)
            _ = try await cluster.waitForQuorum(of: ["b", "c"])
            // A new leader whose quorum is not the whole monmap waits out one lease before it
            // acknowledges writes: this first write may take that long, so its timeout is generous.
            let first = try await cluster.run(["put", "warm-up", "1", "--timeout", "20"])
            try #require(first.status == 0, "\(first)")

            let put = try await cluster.run(["put", "color", "blue", "--timeout", "2"])
            #expect(put.status == 0, "\(put)")
            let get = try await cluster.run(["get", "color", "--timeout", "2"])
            #expect(get.status == 0 && get.stdout == "blue\n", "\(get)")
            let status = try await cluster.run(["status", "--timeout", "2"])
            #expect(status.status == 0, "\(status)")
            #expect(status.stdout.contains("quorum b,c"), "\(status)")
            let rowA = status.stdout.split(separator: "\n").first { $0.hasPrefix("a ") }
            #expect(rowA?.contains("no answer") == true, "\(status)")
        }
    }

    // MARK: 2. status names monitors as they name themselves

    @Test("status --mon URL…: names, ranks, leader, quorum and monmap epoch come from the monitors, in any order given")
    func statusNamesFromNodes() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory)
            let leader = try await cluster.waitForQuorum()
            let urls = ["c", "b", "a"].map { cluster.addresses[$0]! }
            let status = try await monsync(["status", "--json", "--timeout", "10"] + urls.flatMap { ["--mon", $0] })
            #expect(status.status == 0, "\(status)")
            let rows = try #require(try statusMonitors(status.stdout), "\(status)")
            #expect(rows.map { $0["name"] as? String } == ["a", "b", "c"], "rows in the cluster's rank order: \(status.stdout)")
            for (rank, row) in rows.enumerated() {
                let name = row["name"] as? String ?? "?"
                #expect(row["rank"] as? Int == rank, "\(name)'s rank: \(row)")
                #expect(row["address"] as? String == cluster.addresses[name], "\(name)'s address: \(row)")
                #expect(row["leader"] as? String == leader, "\(name)'s leader: \(row)")
                #expect(row["quorum"] as? [String] == ["a", "b", "c"], "\(name)'s quorum: \(row)")
                #expect(row["monmapEpoch"] as? Int == 1, "\(name)'s monmap epoch: \(row)")
            }

            // One URL is enough: the others come from the monitor's monmap.
            let one = try await monsync(["status", "--mon", cluster.addresses["c"]!, "--timeout", "10"])
            #expect(one.status == 0, "\(one)")
            #expect(one.stdout.contains("quorum a,b,c (leader \(leader)); 3 of 3 monitors answered; monmap epoch 1"), "\(one)")
            let names = one.stdout.split(separator: "\n").dropFirst().prefix(3).map { $0.split(separator: " ").first.map(String.init) }
            #expect(names == ["a", "b", "c"], "\(one)")
        }
    }

    // MARK: 3. A request no monitor would serve

    @Test("an empty key or a key over the limit is refused by the client at once (exit 64), with nothing sent")
    func clientRefusesInvalidRequests() async throws {
        try await withTemporaryDirectory { directory in
            // A running cluster: had the client sent these, a monitor would have answered (exit 5), not 64.
            let cluster = try await NodeCluster(directory: directory)
            _ = try await cluster.waitForQuorum()
            let long = String(repeating: "k", count: MMonCommand.maximumKeyLength + 1)
            let cases: [([String], String)] = [
                (["put", "", "v"], "the key is empty"),
                (["get", ""], "the key is empty"),
                (["delete", ""], "the key is empty"),
                (["put", long, "v"], "the key is 1025 bytes, over the limit of 1024 bytes"),
                (["get", long], "the key is 1025 bytes, over the limit of 1024 bytes"),
                (["list", "--prefix", long], "the prefix is 1025 bytes, over the limit of 1024 bytes"),
            ]
            for (arguments, message) in cases {
                // --timeout 3: the old client sent these, the node dropped them, and it waited it out.
                let result = try await cluster.run(arguments + ["--timeout", "3"])
                #expect(result.status == 64, "\(arguments.first!): \(result)")
                #expect(result.stderr.contains(message), "\(arguments.first!): \(result)")
            }
        }
    }

    @Test("a node answers a request over the limits with a typed error (TOO_LARGE, INVALID) instead of dropping it")
    func nodeAnswersInvalidRequests() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory)
            let leader = try await cluster.waitForQuorum()
            let peon = cluster.names.first { $0 != leader }!
            let long = String(repeating: "k", count: MMonCommand.maximumKeyLength + 1)
            let huge = [UInt8](repeating: 7, count: MMonCommand.maximumValueLength + 1)
            let cases: [(MMonCommand, CommandResult)] = [
                (MMonCommand(op: .put, clientID: 9, tid: 1, key: "", value: Array("v".utf8)), .invalid),
                (MMonCommand(op: .get, clientID: 9, tid: 2, key: long), .tooLarge),
                (MMonCommand(op: .put, clientID: 9, tid: 3, key: "big", value: huge), .tooLarge),
            ]
            for name in [leader, peon] {
                let node = try TransportAddress(cluster.addresses[name]!)
                for (command, expected) in cases {
                    // A client that does not check the limits sends the frame as it is (encode does not validate).
                    let reply = try await Self.ask(node, command, timeout: .seconds(10))
                    #expect(reply?.result == expected, "mon.\(name), \(command.op) tid \(command.tid): \(reply.map(String.init(describing:)) ?? "no reply")")
                    #expect(reply?.message.isEmpty == false, "the reply says why")
                }
            }
            // Nothing was written.
            let big = try await cluster.run(["get", "big", "--timeout", "10"])
            #expect(big.status == 1, "\(big)")
        }
    }

    /// Sends `command` to `node` from a transport of the test's own, bypassing every client check,
    /// and returns the reply, or `nil` after `timeout`.
    static func ask(_ node: TransportAddress, _ command: MMonCommand, timeout: Duration) async throws -> MMonCommandReply? {
        let transport = try await DeadAddressTests.startedTransport()
        let codec = MessageCodec.monitor()
        let replies = Task { () -> MMonCommandReply? in
            for await event in transport.events {
                if case let .message(inbound) = event, let reply = try? codec.decode(inbound.bytes) as? MMonCommandReply,
                   reply.tid == command.tid {
                    return reply
                }
            }
            return nil
        }
        // Shutting the transport down ends its events, so the wait above ends at the timeout.
        let timer = Task {
            try? await Task.sleep(for: timeout)
            await transport.shutdown()
        }
        try await transport.send(codec.encode(command), to: node)
        let reply = await replies.value
        timer.cancel()
        await transport.shutdown()
        return reply
    }

    // MARK: 4. A write that timed out

    @Test("a write that timed out says its outcome is unknown (exit 4); it did commit, and resending it with its --client-id and --tid applies it once")
    func outcomeUnknown() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory)
            let leader = try await cluster.waitForQuorum()
            // The leader alone: it proposes the write, but no peon accepts it while they are stopped.
            let peons = cluster.names.filter { $0 != leader }
            for peon in peons { cluster.nodes[peon]?.signal(SIGSTOP) }
            let put = try await cluster.run(["put", "color", "blue", "--timeout", "2"])
            for peon in peons { cluster.nodes[peon]?.signal(SIGCONT) }
            #expect(put.status == 4, "\(put)")
            #expect(put.stderr.contains("Error: the outcome of put color is unknown"), "\(put)")
            let resend = try #require(Self.resendFlags(put.stderr), "the message names --client-id and --tid: \(put)")

            // The write was not lost: the peons accept it once they run again (or the next leader's
            // recovery commits it).
            try await eventually("the timed-out write commits", timeout: .seconds(40), polling: .milliseconds(300)) {
                let get = try await cluster.run(["get", "color", "--timeout", "5"])
                return get.status == 0 && get.stdout == "blue\n"
            }
            // Another client overwrites it; resending the first write is answered "already applied"
            // and does not undo the overwrite.
            let overwrite = try await cluster.run(["put", "color", "green", "--timeout", "20"])
            try #require(overwrite.status == 0, "\(overwrite)")
            let again = try await cluster.run(["put", "color", "blue", "--timeout", "20"] + resend)
            #expect(again.status == 0, "\(again)")
            #expect(again.stdout == "set color (already applied)\n", "\(again)")
            let get = try await cluster.run(["get", "color", "--timeout", "20"])
            #expect(get.stdout == "green\n", "a (client id, tid) is applied at most once: \(get)")
        }
    }

    /// `["--client-id", N, "--tid", T]` from an outcome-unknown message.
    static func resendFlags(_ message: String) -> [String]? {
        let words = message.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "(" || $0 == ")" }).map(String.init)
        guard let id = words.firstIndex(of: "--client-id"), let tid = words.firstIndex(of: "--tid"),
              id + 1 < words.count, tid + 1 < words.count else { return nil }
        return ["--client-id", words[id + 1], "--tid", words[tid + 1]]
    }

    // MARK: 5. Exit statuses

    @Test("exit statuses tell a missing key (1) from no quorum (2) and an unreachable cluster (3); status without a quorum is 2")
    func exitStatuses() async throws {
        // Nobody runs: a read cannot reach anyone.
        let nobody = makeMonmap(["a", "b", "c"])
        let unreachable = try await monsync(["get", "color", "--monmap", nobody, "--timeout", "1"])
        #expect(unreachable.status == 3, "\(unreachable)")
        #expect(unreachable.stderr.contains("no monitor answered within 1 s"), "\(unreachable)")
        let statusNobody = try await monsync(["status", "--monmap", nobody, "--timeout", "1"])
        #expect(statusNobody.status == 3, "\(statusNobody)")

        try await withTemporaryDirectory { directory in
            // One monitor of three: it answers, but can form no quorum.
            let lonely = try await NodeCluster(running: ["a"], directory: directory)
            try await eventually("mon.a answers status", timeout: .seconds(20), polling: .milliseconds(200)) {
                try await !lonely.answeringRows().isEmpty
            }
            let status = try await lonely.run(["status", "--timeout", "2"])
            #expect(status.status == 2, "\(status)")
            #expect(status.stdout.contains("no quorum; 1 of 3 monitors answered"), "\(status)")
            #expect(status.stderr.contains("Error: no monitor is in a quorum (1 of 3 answered)"), "\(status)")
            let get = try await lonely.run(["get", "color", "--timeout", "2"])
            #expect(get.status == 2, "\(get)")
            #expect(get.stderr.contains("no_quorum"), "\(get)")
        }

        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(directory: directory)
            _ = try await cluster.waitForQuorum()
            let missing = try await cluster.run(["get", "color", "--timeout", "20"])
            #expect(missing.status == 1, "\(missing)")
            #expect(missing.errorLines == ["Error: no value for key 'color'; list the keys with monsync list"], "\(missing)")
        }
    }

    @Test("list pages past a monitor's 10 000-key page; --limit stops early and says so (exit 6); --after continues")
    func listPages() async throws {
        try await withTemporaryDirectory { directory in
            // 10 001 keys, key-00000000 … key-00010000, loaded offline into every store (same seed: same data).
            for name in ["a", "b", "c"] {
                let load = try await monsync(["store", "load", directory.appendingPathComponent(name).path,
                                              "--keys", "10001", "--value-size", "8", "--batch", "1000"])
                try #require(load.status == 0, "\(load)")
            }
            let cluster = try await NodeCluster(directory: directory)
            _ = try await cluster.waitForQuorum()

            let all = try await cluster.run(["list", "--timeout", "30"])
            #expect(all.status == 0, "exit \(all.status): \(all.stderr)")
            let keys = all.stdout.split(separator: "\n")
            #expect(keys.count == 10_001, "every key, not the first page only")
            #expect(keys.first == "key-00000000" && keys.last == "key-00010000")

            let first = try await cluster.run(["list", "--limit", "3", "--timeout", "20"])
            #expect(first.status == 6, "\(first)")
            #expect(first.stdout == "key-00000000\nkey-00000001\nkey-00000002\n", "\(first)")
            #expect(first.errorLines == ["Note: stopped after 3 keys (--limit); more follow: continue with --after key-00000002"], "\(first)")

            let next = try await cluster.run(["list", "--after", "key-00009998", "--limit", "5", "--timeout", "20"])
            #expect(next.status == 0, "the last page: \(next)")
            #expect(next.stdout == "key-00009999\nkey-00010000\n", "\(next)")

            let prefixed = try await cluster.run(["list", "--prefix", "key-0001", "--json", "--timeout", "20"])
            #expect(prefixed.status == 0, "\(prefixed)")
            #expect(try JSONSerialization.jsonObject(with: Data(prefixed.stdout.utf8)) as? [String] == ["key-00010000"], "\(prefixed)")
        }
    }
}
#endif
