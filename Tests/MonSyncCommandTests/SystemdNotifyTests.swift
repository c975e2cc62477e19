#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// `Type=notify` readiness: a real `monsync node` process, and a unix datagram socket of the test's
/// own standing in for systemd's `$NOTIFY_SOCKET`.
@Suite("systemd readiness (sd_notify)")
struct SystemdNotifyTests {
    /// A bound unix datagram socket that collects what is sent to it.
    final class NotifySocket {
        let descriptor: Int32
        /// What to put in `NOTIFY_SOCKET`: the path, or `@name` for an abstract socket.
        let address: String
        private let path: String?

        init(abstract: Bool) throws {
            let name = "monsync-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            path = abstract ? nil : FileManager.default.temporaryDirectory.appendingPathComponent(name + ".sock").path
            address = path ?? "@" + name
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            try #require(descriptor >= 0)
            var bytes = Array((path ?? name).utf8)
            if abstract { bytes.insert(0, at: 0) }
            var socketAddress = sockaddr_un()
            socketAddress.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: bytes) }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (abstract ? 0 : 1))
            let bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            try #require(bound == 0, "bind \(address): \(String(cString: strerror(errno)))")
        }

        deinit {
            close(descriptor)
            if let path { unlink(path) }
        }

        /// The datagrams received until one contains `assignment` (within `limit`), that one last.
        func receive(until assignment: String, limit: Duration) async throws -> [String] {
            let clock = ContinuousClock()
            let deadline = clock.now + limit
            var received: [String] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while clock.now < deadline {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count > 0 {
                    let datagram = String(decoding: buffer[..<count], as: UTF8.self)
                    received.append(datagram)
                    if datagram.split(separator: "\n").contains(Substring(assignment)) { return received }
                } else {
                    try await clock.sleep(for: .milliseconds(50))
                }
            }
            throw TimedOut(what: "\(assignment) on \(address)", details: "received: \(received)")
        }
    }

    @Test("READY=1 arrives once the node listens (it then answers), STOPPING=1 when SIGTERM stops it", arguments: [false, true])
    func readiness(abstract: Bool) async throws {
        let socket = try NotifySocket(abstract: abstract)
        let monmap = makeMonmap(["a"])
        let node = try await RunningProcess(["node", "--name", "a", "--monmap", monmap, "--store", "memory"] + fastTimers,
                                      environment: ["NOTIFY_SOCKET": socket.address])
        let ready = try await socket.receive(until: "READY=1", limit: .seconds(60))
        #expect(ready.last?.contains("STATUS=monitor a listening on tcp://127.0.0.1:") == true, "\(ready)")
        // Ready means it listens: a client is answered without waiting for the node to come up.
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", "30"], timeout: .seconds(60))
        #expect(status.status == 0, "\(status); node: \(node.stderrSoFar)")
        node.signal(SIGTERM)
        let stopping = try await socket.receive(until: "STOPPING=1", limit: .seconds(30))
        #expect(!stopping.isEmpty)
        let result = try await node.wait(timeout: .seconds(30))
        #expect(result.status == 0, "\(result)")
    }

    @Test("without NOTIFY_SOCKET, or with one nobody listens on, the node runs as ever")
    func noSystemd() async throws {
        let monmap = makeMonmap(["a"])
        let gone = FileManager.default.temporaryDirectory.appendingPathComponent("monsync-no-such-\(getpid()).sock").path
        let node = try await RunningProcess(["node", "--name", "a", "--monmap", monmap, "--store", "memory"] + fastTimers,
                                      environment: ["NOTIFY_SOCKET": gone])
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", "30"], timeout: .seconds(60))
        #expect(status.status == 0, "\(status)")
        node.signal(SIGTERM)
        let result = try await node.wait(timeout: .seconds(30))
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("cannot tell systemd the node is ready"), "the failed notification is logged: \(result.stderr)")
    }
}
#endif
