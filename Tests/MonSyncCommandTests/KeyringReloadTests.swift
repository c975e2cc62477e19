#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// SIGHUP reloads a secured node's keyring without a restart: a key added is admitted, a key
/// removed is refused to new connections, a malformed file changes nothing — and SIGHUP never ends
/// a node, secured or not.
@Suite("Keyring reload on SIGHUP", .serialized, .timeLimit(.minutes(3)))
struct KeyringReloadTests {
    @Test("a client key added to the keyring works after SIGHUP, and stops working once removed")
    func reload() async throws {
        try await withTemporaryDirectory { directory in
            func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
            var publicKeys: [String: String] = [:]
            for name in ["a", "ops"] {
                let keygen = try await monsync(["keygen", "--out", path(name)])
                try #require(keygen.status == 0, "\(keygen)")
                publicKeys[name] = keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let monitorLine = "a monitor \(publicKeys["a"]!)\n"
            let opsLine = "client.ops write \(publicKeys["ops"]!)\n"
            // The node's keyring changes during the test; the client's names the monitor only.
            try monitorLine.write(toFile: path("node-keyring"), atomically: true, encoding: .utf8)
            try monitorLine.write(toFile: path("client-keyring"), atomically: true, encoding: .utf8)
            let monmap = makeMonmap(["a"])
            let timers = fastTimers.filter { $0 != "warning" && $0 != "--log-level" } + ["--log-level", "info"]
            let node = try await RunningProcess(["node", "--name", "a", "--monmap", monmap, "--store", path("a"),
                                           "--key", path("a.key"), "--keyring", path("node-keyring")] + timers)
            defer { node.signal(SIGKILL) }
            try await eventually("mon.a starts", timeout: .seconds(20)) { node.stderrSoFar.contains("monitor starting") }
            func put(_ value: String, timeout: String = "2") async throws -> ProcessResult {
                try await monsync(["put", "k", value, "--monmap", monmap, "--timeout", timeout,
                                   "--key", path("ops.key"), "--keyring", path("client-keyring")])
            }
            func hangup(expecting line: String, count: Int) async throws {
                node.signal(SIGHUP)
                try await eventually("\(line) ×\(count)", timeout: .seconds(20)) {
                    node.stderrSoFar.components(separatedBy: line).count - 1 >= count
                }
                #expect(node.isRunning, "SIGHUP ended the node:\n\(node.stderrSoFar)")
            }

            let before = try await put("1")
            // A write nobody answered is "outcome unknown" (exit 4): the node never let it in.
            #expect(before.status == 4, "a key the node's keyring does not hold reached it: \(before)")

            try (monitorLine + opsLine).write(toFile: path("node-keyring"), atomically: true, encoding: .utf8)
            try await hangup(expecting: "SIGHUP: keyring reloaded", count: 1)
            try await eventually("a put with the added key", timeout: .seconds(30)) { (try? await put("2"))?.status == 0 }

            // A malformed file: refused, and the keyring in force stays (the added key still works).
            try (monitorLine + opsLine + "client.bad write not-a-key\n").write(toFile: path("node-keyring"), atomically: true, encoding: .utf8)
            try await hangup(expecting: "SIGHUP: keyring not reloaded", count: 1)
            let kept = try await put("3", timeout: "10")
            #expect(kept.status == 0, "a bad keyring file changed the keys in force: \(kept)")

            try monitorLine.write(toFile: path("node-keyring"), atomically: true, encoding: .utf8)
            try await hangup(expecting: "SIGHUP: keyring reloaded", count: 2)
            let removed = try await put("4")
            #expect(removed.status == 4, "a removed key still reaches the node: \(removed)")
            let get = try await monsync(["get", "k", "--monmap", monmap, "--timeout", "2",
                                         "--key", path("ops.key"), "--keyring", path("client-keyring")])
            #expect(get.status == 3, "a removed key still reads: \(get)")

            node.signal(SIGTERM)
            let stopped = try await node.wait(timeout: .seconds(30))
            #expect(stopped.status == 0, "\(stopped)")
        }
    }

    @Test("SIGHUP does not end a node without keys")
    func hangupWithoutKeys() async throws {
        let monmap = makeMonmap(["a"])
        let timers = fastTimers.filter { $0 != "warning" && $0 != "--log-level" } + ["--log-level", "info"]
        let node = try await RunningProcess(["node", "--name", "a", "--monmap", monmap, "--store", "memory"] + timers)
        defer { node.signal(SIGKILL) }
        try await eventually("mon.a starts", timeout: .seconds(20)) { node.stderrSoFar.contains("monitor starting") }
        for _ in 0..<3 { node.signal(SIGHUP) }
        try await eventually("the SIGHUP notice", timeout: .seconds(20)) { node.stderrSoFar.contains("SIGHUP: no keyring to reload") }
        try await eventually("a put after SIGHUP", timeout: .seconds(30)) {
            (try? await monsync(["put", "k", "v", "--monmap", monmap, "--timeout", "2"]))?.status == 0
        }
        #expect(node.isRunning)
    }
}
#endif
