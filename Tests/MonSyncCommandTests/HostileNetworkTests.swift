#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// What whoever can reach a monitor's port can do to it, tried against a real `monsync node`
/// process with real ZeroMQ sockets: a ZeroMQ peer that is not ours (pyzmq), and short-lived
/// `monsync` clients as an operator's scripts run them.
@Suite("Hostile networks across processes", .serialized, .timeLimit(.minutes(3)),
       .enabled("needs python3 with pyzmq (pip install pyzmq)") { await PythonZMQ.isAvailable })
struct HostileNetworkTests {
    /// A one-monitor cluster (it is its own quorum), logging at `logLevel`.
    private func startNode(in directory: URL, logLevel: String = "warning") async throws -> (node: RunningProcess, monmap: String) {
        let monmap = makeMonmap(["a"])
        var arguments = ["node", "--name", "a", "--monmap", monmap, "--store", directory.appendingPathComponent("a").path]
        arguments += fastTimers.dropLast(2) + ["--log-level", logLevel]
        return (try await RunningProcess(arguments), monmap)
    }

    private func address(in monmap: String) -> String { String(monmap.split(separator: "=")[1]) }

    /// Writes through the CLI until one is acknowledged (the node is up and serves).
    private func waitUntilServing(_ monmap: String) async throws {
        try await eventually("the node serves writes", timeout: .seconds(20)) {
            (try? await monsync(["put", "ready", "yes", "--monmap", monmap, "--timeout", "2"]))?.status == 0
        }
    }

    /// Two ZeroMQ connections with one routing id, each sending a frame and closing, over and over.
    /// With `ZMQ_ROUTER_HANDOVER` set, libzmq 4.3.4 aborted the node within a few rounds
    /// (`Assertion failed: !_io_error (src/stream_engine_base.cpp:331)`): anyone who could reach
    /// the port could kill the monitor.
    static let duplicateIdentityScript = #"""
import sys, time, zmq
target, rounds = sys.argv[1], int(sys.argv[2])
ctx = zmq.Context()
for r in range(rounds):
    pair = []
    for i in range(2):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.ROUTING_ID, b"tcp://127.0.0.1:9")
        s.setsockopt(zmq.LINGER, 0)
        s.connect(target)
        pair.append(s)
    for s in pair: s.send(b"x" * 10)
    time.sleep(0.02)
    for s in pair: s.close()
    time.sleep(0.02)
ctx.term()
print("sent")
"""#

    @Test("two connections claiming one routing id cannot crash a node")
    func duplicateRoutingIDs() async throws {
        try await withTemporaryDirectory { directory in
            let (node, monmap) = try await startNode(in: directory)
            try await waitUntilServing(monmap)
            let python = try await runProcess(PythonZMQ.python, ["python3", "-c", Self.duplicateIdentityScript, address(in: monmap), "150"],
                                              timeout: .seconds(60))
            #expect(python.status == 0 && python.stdout.contains("sent"), "\(python)")
            #expect(node.isRunning, "the node died: \(node.stderrSoFar.suffix(2_000))")
            let put = try await monsync(["put", "after", "attack", "--monmap", monmap, "--timeout", "10"])
            #expect(put.status == 0, "\(put)")
            #expect(!node.stderrSoFar.contains("Assertion failed"))
            node.signal(SIGTERM)
            _ = try await node.wait(timeout: .seconds(15))
        }
    }

    /// The node's open descriptors.
    private func descriptors(of node: RunningProcess) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(node.process.processIdentifier)/fd").count
    }

    @Test("short-lived clients leave no descriptors behind")
    func shortClientsLeaveNoDescriptors() async throws {
        try await withTemporaryDirectory { directory in
            let (node, monmap) = try await startNode(in: directory)
            try await waitUntilServing(monmap)
            // Settle what a first client allocates once (libzmq's threads, the store's files).
            for _ in 0..<3 { _ = try await monsync(["get", "ready", "--monmap", monmap, "--timeout", "10"]) }
            try await Task.sleep(for: .seconds(1))
            let before = try descriptors(of: node)
            // Each client is a process with its own port: the node answers it on a new connection.
            let clients = 60
            for batch in stride(from: 0, to: clients, by: 4) {
                try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                    for _ in batch..<min(batch + 4, clients) {
                        group.addTask { try await monsync(["get", "ready", "--monmap", monmap, "--timeout", "10"]) }
                    }
                    for try await get in group { #expect(get.status == 0 && get.stdout.contains("yes"), "\(get)") }
                }
            }
            // The node notices each client's disconnect within moments; then it holds what it held.
            // (It held about three more descriptors per client, forever: 180 here.)
            var after = try descriptors(of: node)
            let deadline = ContinuousClock.now + .seconds(20)
            while after > before + 6 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                after = try descriptors(of: node)
            }
            #expect(after <= before + 6, "\(clients) clients took the node from \(before) to \(after) open descriptors")
            node.signal(SIGTERM)
            _ = try await node.wait(timeout: .seconds(15))
        }
    }

    /// Garbage from three senders that name valid addresses, and a frame each from 500 made-up ones.
    static let floodScript = #"""
import os, sys, zmq, time
target, frames = sys.argv[1], int(sys.argv[2])
ctx = zmq.Context()
def dealer(identity):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.ROUTING_ID, identity)
    s.setsockopt(zmq.LINGER, 2000)
    s.connect(target)
    return s
senders = [dealer(b"tcp://127.0.0.1:%d" % port) for port in (1, 2, 3)]
for i in range(frames):
    senders[i % 3].send(os.urandom(1 + i % 200))
made_up = []
for port in range(20000, 20500):
    s = dealer(b"tcp://127.0.0.1:%d" % port)
    s.send(os.urandom(40))
    made_up.append(s)
time.sleep(1.0)
for s in senders + made_up: s.close()
ctx.term()
print("sent")
"""#

    @Test("refused input and client disconnects do not flood the log; every refusal is counted")
    func noLogFlood() async throws {
        try await withTemporaryDirectory { directory in
            let (node, monmap) = try await startNode(in: directory, logLevel: "info")
            try await waitUntilServing(monmap)
            let linesBefore = node.stderrSoFar.split(separator: "\n").count
            let frames = 3_000
            let python = try await runProcess(PythonZMQ.python, ["python3", "-c", Self.floodScript, address(in: monmap), String(frames)],
                                              timeout: .seconds(60))
            #expect(python.status == 0 && python.stdout.contains("sent"), "\(python)")
            for _ in 0..<20 {
                let get = try await monsync(["get", "ready", "--monmap", monmap, "--timeout", "10"])
                #expect(get.status == 0, "\(get)")
            }
            try await Task.sleep(for: .seconds(1))
            let attackLog = node.stderrSoFar.split(separator: "\n").dropFirst(linesBefore)
            // Per interval: a line per sender for the first few, one shared line for the rest
            // (it was a line per frame: thousands, and a line per client disconnect).
            #expect(attackLog.count <= 40, "\(attackLog.count) log lines for \(frames + 500) refused frames and 20 clients:\n\(attackLog.prefix(60).joined(separator: "\n"))")
            #expect(!attackLog.contains { $0.contains("inbound connection closed") }, "an ordinary disconnect is not worth a line")
            // Counted in full: the node's metrics at shutdown carry every drop.
            node.signal(SIGTERM)
            let stopped = try await node.wait(timeout: .seconds(15))
            let dropped = stopped.stderr.split(separator: " ").compactMap { field -> Int? in
                guard field.hasPrefix("monsync_dispatch_dropped_total{") else { return nil }
                return field.split(separator: "=").last.flatMap { Int($0) }
            }.reduce(0, +)
            #expect(dropped >= frames, "the drops counted: \(dropped)")
        }
    }
}
#endif
