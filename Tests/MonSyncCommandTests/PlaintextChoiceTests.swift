#if ZeroMQ
import Foundation
import MonSyncTestSupport
import Testing

/// Plaintext over a network is a choice the operator makes explicitly: a node or a client that
/// would talk ZeroMQ over tcp:// without keys refuses to start unless `--insecure-plaintext` says
/// so, and keys with the flag contradict each other. In-process transports need neither.
@Suite("Plaintext only when chosen")
struct PlaintextChoiceTests {
    @Test("a node without keys or --insecure-plaintext refuses to start, names the choice, exits 1")
    func nodeRefuses() async throws {
        let monmap = makeMonmap(["a", "b", "c"])
        let result = try await monsync(["node", "--name", "a", "--monmap", monmap, "--store", "memory"] + fastTimers,
                                       plaintext: false, timeout: .seconds(20))
        #expect(result.status == 1, "a node's configuration error, as for a monmap without it: \(result)")
        #expect(result.stderr.contains("--insecure-plaintext") && result.stderr.contains("--key"), "\(result.stderr)")
        #expect(!result.stderr.contains("monitor starting"), "\(result.stderr)")
    }

    @Test("a client without keys or --insecure-plaintext refuses before sending anything, exits 64")
    func clientRefuses() async throws {
        let monmap = makeMonmap(["a"])
        for command in [["get", "k"], ["put", "k", "v"], ["status"], ["list"]] {
            let result = try await monsync(command + ["--monmap", monmap, "--timeout", "1"], plaintext: false, timeout: .seconds(20))
            #expect(result.status == 64, "\(command): \(result)")
            #expect(result.stderr.contains("--insecure-plaintext"), "\(command): \(result.stderr)")
        }
    }

    @Test("keys and --insecure-plaintext together are refused")
    func keysAndPlaintextContradict() async throws {
        try await withTemporaryDirectory { directory in
            let prefix = directory.appendingPathComponent("a").path
            let keygen = try await monsync(["keygen", "--out", prefix])
            try #require(keygen.status == 0, "\(keygen)")
            let publicKey = keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let keyring = directory.appendingPathComponent("keyring").path
            try "a monitor \(publicKey)\n".write(toFile: keyring, atomically: true, encoding: .utf8)
            let result = try await monsync(["get", "k", "--monmap", makeMonmap(["a"]), "--key", prefix + ".key", "--keyring", keyring,
                                            "--insecure-plaintext", "--timeout", "1"], plaintext: false, timeout: .seconds(20))
            #expect(result.status == 64, "\(result)")
            #expect(result.stderr.contains("contradicts"), "\(result.stderr)")
        }
    }

    @Test("with --insecure-plaintext a plaintext cluster runs, and says it is insecure")
    func chosenPlaintextRuns() async throws {
        let monmap = makeMonmap(["a"])
        let node = try await RunningProcess(["node", "--name", "a", "--monmap", monmap, "--store", "memory", "--insecure-plaintext"]
            + fastTimers.filter { $0 != "warning" && $0 != "--log-level" } + ["--log-level", "notice"], plaintext: false)
        defer { node.signal(SIGKILL) }
        try await eventually("the plaintext notice", timeout: .seconds(20)) { node.stderrSoFar.contains("insecure plaintext") }
        try await eventually("a put through the plaintext node", timeout: .seconds(30)) {
            (try? await monsync(["put", "k", "v", "--monmap", monmap, "--timeout", "2", "--insecure-plaintext"], plaintext: false))?.status == 0
        }
    }
}
#endif
