#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// `monsync node --bind-address`: a node listening on a private port behind a forwarder at its
/// monmap address (Ceph's `public_bind_addr`) serves clients and its peers through the forwarder;
/// a bind address of another scheme is refused.
@Suite("Bind address behind a forwarder", .serialized, .timeLimit(.minutes(2)))
struct BindAddressTests {
    @Test("three nodes, each behind a TCP forwarder at its monmap address, form a quorum and commit")
    func behindForwarders() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let proxy = root.appendingPathComponent("Benchmarks/delay-proxy.py").path
        let names = ["a", "b", "c"]
        let dialed = names.map { _ in freeTCPPort() }
        let bound = names.map { _ in freeTCPPort() }
        let monmap = zip(names, dialed).map { "\($0)=tcp://127.0.0.1:\($1)" }.joined(separator: ",")
        var processes: [ChildProcess] = []
        var nodes: [RunningProcess] = []
        defer {
            for process in processes { process.signal(SIGKILL) }
            for node in nodes { node.signal(SIGKILL) }
        }
        for index in names.indices {
            // Output to /dev/null, not the runner's own: a forwarder holding it open would keep `swift test` waiting.
            processes.append(try await ChildProcess.start("/usr/bin/env", arguments: ["python3", proxy, "\(dialed[index])", "\(bound[index])", "1"]))
            nodes.append(try await RunningProcess(["node", "--name", names[index], "--monmap", monmap, "--store", "memory",
                                             "--bind-address", "tcp://127.0.0.1:\(bound[index])"] + fastTimers))
        }
        try await eventually("a write through the forwarders", timeout: .seconds(60)) {
            (try? await monsync(["put", "k", "v", "--monmap", monmap, "--timeout", "2"]))?.status == 0
        }
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", "5"])
        #expect(status.status == 0 && status.stdout.contains("quorum a,b,c"), "\(status)")
    }

    @Test("a bind address of another scheme than the monmap address is refused")
    func otherScheme() async throws {
        let result = try await monsync(["node", "--name", "a", "--monmap", makeMonmap(["a"]), "--store", "memory",
                                        "--bind-address", "ipc:///tmp/monsync-bind-test.sock"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bind address must have the scheme"), "\(result.stderr)")
    }
}
#endif
