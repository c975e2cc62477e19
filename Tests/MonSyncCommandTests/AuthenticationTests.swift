#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncCore
import MonSyncMessages
import MonSyncTestSupport
import Testing

/// A cluster with CURVE keys (`monsync keygen`, `--key`, `--keyring`), real processes, and a
/// ZeroMQ peer that is not ours (pyzmq) trying to read, write and start a store sync: without a
/// known key it gets nothing through; with a client key it cannot speak as a monitor; a read key
/// cannot write. The CLI with the right keys works.
@Suite("Authenticated links across processes", .serialized, .timeLimit(.minutes(3)),
       .enabled("needs python3 with pyzmq (pip install pyzmq)") { await PythonZMQ.isAvailable })
struct AuthenticationTests {
    /// Sends frames from a DEALER (CURVE client if keys are given), listening for replies on a
    /// ROUTER at `reply` (CURVE server with the same keys); prints how many replies came and
    /// the result code of each command reply.
    static let peerScript = #"""
import sys, time, zmq
target, server_pub, my_secret, my_public, routing_id, reply, frames_hex, wait = sys.argv[1:9]
ctx = zmq.Context()
def secure(s, server):
    if my_secret == "-":
        return
    s.curve_secretkey = my_secret.encode()
    s.curve_publickey = my_public.encode()
    if server:
        s.curve_server = True
    else:
        s.curve_serverkey = server_pub.encode()
inbox = ctx.socket(zmq.ROUTER)
secure(inbox, True)
inbox.bind(reply)
d = ctx.socket(zmq.DEALER)
d.setsockopt(zmq.ROUTING_ID, routing_id.encode())
d.setsockopt(zmq.LINGER, 0)
secure(d, False)
d.connect(target)
for frame in frames_hex.split(","):
    d.send(bytes.fromhex(frame))
replies = 0
deadline = time.time() + float(wait)
while time.time() < deadline:
    if inbox.poll(100):
        inbox.recv_multipart()
        replies += 1
print("replies=%d" % replies)
d.close(); inbox.close(); ctx.term()
"""#

    private static func hex(_ message: some WireMessage) -> String {
        MessageCodec.monitor().encode(message).map { String(format: "%02x", $0) }.joined()
    }

    @Test("without a known key a peer can neither read, write nor start a sync; a read key cannot write")
    func strangersGetNothingThrough() async throws {
        try await withTemporaryDirectory { directory in
            func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
            var publicKeys: [String: String] = [:]
            for name in ["a", "b", "c", "admin", "viewer", "stranger"] {
                let keygen = try await monsync(["keygen", "--out", path(name)])
                try #require(keygen.status == 0, "\(keygen)")
                publicKeys[name] = try String(contentsOfFile: path(name + ".pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                let secretMode = try FileManager.default.attributesOfItem(atPath: path(name + ".key"))[.posixPermissions] as? Int
                #expect(secretMode == 0o600, "\(name).key has mode \(String(secretMode ?? 0, radix: 8))")
            }
            let keyring = """
            # name role public-key
            a monitor \(publicKeys["a"]!)
            b monitor \(publicKeys["b"]!)
            c monitor \(publicKeys["c"]!)
            client.admin write \(publicKeys["admin"]!)
            client.viewer read \(publicKeys["viewer"]!)
            """
            try keyring.write(toFile: path("keyring"), atomically: true, encoding: .utf8)
            let monmap = makeMonmap(["a", "b", "c"])
            let addresses = Dictionary(uniqueKeysWithValues: monmap.split(separator: ",").map {
                let parts = $0.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            })
            func keys(_ name: String) -> [String] { ["--key", path(name + ".key"), "--keyring", path("keyring")] }
            // a and b form the quorum; c is down (a peer will claim to be c).
            var nodes: [RunningProcess] = []
            defer { for node in nodes { node.signal(SIGKILL) } }
            for name in ["a", "b"] {
                nodes.append(try await RunningProcess(["node", "--name", name, "--monmap", monmap, "--store", path(name)] + fastTimers + keys(name)))
            }
            do {
                try await eventually("the secured cluster serves writes", timeout: .seconds(30)) {
                    (try? await monsync(["put", "k", "v", "--monmap", monmap, "--timeout", "2"] + keys("admin")))?.status == 0
                }
            } catch {
                let put = try await monsync(["put", "k", "v", "--monmap", monmap, "--timeout", "2"] + keys("admin"))
                let logs = nodes.map(\.stderrSoFar).joined(separator: "\n---\n")
                Issue.record("\(error)\n\(put)\n\(logs)")
                throw error
            }

            let frames = [Self.hex(MMonCommand(op: .get, clientID: 77, tid: 1, key: "k")),
                          Self.hex(MMonCommand(op: .put, clientID: 77, tid: 2, key: "stolen", value: Array("x".utf8))),
                          Self.hex(MMonSync(op: .start, replyTo: MonitorEntity(rank: 2, name: "c", address: addresses["c"]!), session: 7))]
                .joined(separator: ",")
            func peer(secret: String, public: String, claiming routingID: String, to target: String) async throws -> Int {
                let reply = "tcp://127.0.0.1:\(freeTCPPort())"
                let result = try await runProcess(PythonZMQ.python, ["python3", "-c", Self.peerScript, target, publicKeys["a"]!,
                                                                     secret, `public`, routingID == "" ? reply : routingID, reply, frames, "3"],
                                                  timeout: .seconds(30))
                try #require(result.status == 0, "\(result)")
                return Int(result.stdout.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            }
            func secret(_ name: String) throws -> String {
                try String(contentsOfFile: path(name + ".key"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let leaderAddress = addresses["a"]!
            // No key at all (plaintext), claiming c's address: the handshake fails, nothing arrives.
            #expect(try await peer(secret: "-", public: "-", claiming: addresses["c"]!, to: leaderAddress) == 0)
            // A valid key nobody admitted: refused during the handshake.
            #expect(try await peer(secret: try secret("stranger"), public: publicKeys["stranger"]!, claiming: addresses["c"]!, to: leaderAddress) == 0)
            // An admitted client key speaking as monitor c: dropped as an impersonation.
            #expect(try await peer(secret: try secret("viewer"), public: publicKeys["viewer"]!, claiming: addresses["c"]!, to: leaderAddress) == 0)
            // The same read key under its own address: the GET is answered, the PUT refused with a
            // reason, the START (monitors only) dropped — two replies.
            #expect(try await peer(secret: try secret("viewer"), public: publicKeys["viewer"]!, claiming: "", to: leaderAddress) == 2)
            let readOnlyPut = try await monsync(["put", "stolen", "x", "--monmap", monmap, "--timeout", "3"] + keys("viewer"))
            #expect(readOnlyPut.status == 5 && readOnlyPut.stderr.contains("permission denied"), "\(readOnlyPut)")

            // Nothing was written, no sync was granted, and a plaintext client reaches nobody.
            let stolen = try await monsync(["get", "stolen", "--monmap", monmap, "--timeout", "5"] + keys("admin"))
            #expect(stolen.status == 1, "the write of a stranger or a read key landed: \(stolen)")
            let status = try await monsync(["status", "--json", "--monmap", monmap, "--timeout", "3"] + keys("admin"))
            let rows = (try? statusMonitors(status.stdout)) ?? []
            let granted = rows.compactMap { (($0["sync"] as? [String: Any])?["leader"] as? [String: Any])?["granted"] as? Int }.reduce(0, +)
            #expect(rows.filter { $0["answered"] as? Bool == true }.count == 2, "\(status)")
            #expect(granted == 0, "a sync was granted to a peer without c's key: \(status.stdout)")
            let plaintext = try await monsync(["get", "k", "--monmap", monmap, "--timeout", "2"])
            #expect(plaintext.status == 3, "a client without keys reached a secured monitor: \(plaintext)")
            let admitted = try await monsync(["get", "k", "--monmap", monmap, "--timeout", "5"] + keys("viewer"))
            #expect(admitted.status == 0 && admitted.stdout.contains("v"), "\(admitted)")
            for node in nodes { node.signal(SIGTERM) }
            for node in nodes { _ = try await node.wait(timeout: .seconds(15)) }
        }
    }
}
#endif
