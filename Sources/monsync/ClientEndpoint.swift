import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MonSyncCore
import MonSyncMonitor

/// Picks the address a client listens on for its replies.
///
/// A reply goes to the sender's address (it doubles as the sender's identity), so a client
/// needs an address the monitors can dial: for `tcp://` the local IP the kernel would use to
/// reach the first monitor and a port that is free now; for `ipc://` a fresh socket file.
enum ClientEndpoint {
    /// A started client of `monmap` listening on a fresh reply address (another one if the port is taken meanwhile).
    ///
    /// Every client command makes one; `bench` makes one per simulated client and keeps it for the whole run.
    ///
    /// - Parameters:
    ///   - monmap: the monitors the client asks; the reply address is chosen to reach them.
    ///   - registry: the transports the client may use, by scheme (the monmap's decides).
    ///   - options: the client transport's options.
    ///   - logger: the client's logger.
    ///   - retryInterval: the pause between hunts that came back without a definite answer.
    ///   - attemptTimeout: how long one attempt waits before the client hunts every monitor.
    ///   - clientID: the client id to write as (random when `nil`).
    static func startClient(monmap: MonMap, registry: TransportRegistry, options: TransportOptions, logger: Logger,
                            retryInterval: Duration = .milliseconds(200), attemptTimeout: Duration = .seconds(1),
                            clientID: UInt64? = nil) async throws -> ClientConnection {
        guard let first = monmap.address(of: 0) else { throw UserFacingError.noMonitors }
        var attempts = 0
        while true {
            attempts += 1
            let address = try address(towards: first)
            let transport = try registry.makeTransport(listeningOn: address, options: options)
            let client = MonitorClient(transport: transport, monmap: monmap, clientID: clientID ?? UInt64.random(in: 1...UInt64.max),
                                       retryInterval: retryInterval, attemptTimeout: attemptTimeout, logger: logger)
            do throws(TransportError) {
                try await client.start()
            } catch {
                // Another process took the port between the probe and the bind: pick another.
                if case .bindFailed = error, attempts < 5 { continue }
                throw error
            }
            return ClientConnection(client: client, address: address)
        }
    }

    /// An address to listen on for replies from `monitor`.
    ///
    /// - Throws: ``UserFacingError`` when the monitor's scheme cannot be reached from another process.
    static func address(towards monitor: TransportAddress) throws -> TransportAddress {
        switch monitor.scheme {
        case "tcp":
            let host = localIPv4(towards: monitor) ?? "127.0.0.1"
            return try TransportAddress("tcp://\(host):\(freeTCPPort(on: host))")
        case "ipc":
            let name = "monsync-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
            return try TransportAddress("ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent(name).path)
        case "loopback", "inproc":
            throw UserFacingError.inProcessOnly(monitor.description)
        default:
            // Let the registry name the schemes it knows.
            return monitor
        }
    }

    /// The host and port of a `tcp://host:port` location.
    private static func hostAndPort(_ location: String) -> (host: String, port: String)? {
        if location.hasPrefix("["), let close = location.firstIndex(of: "]") {
            let host = String(location[location.index(after: location.startIndex)..<close])
            let rest = location[location.index(after: close)...]
            return rest.hasPrefix(":") ? (host, String(rest.dropFirst())) : nil
        }
        guard let colon = location.lastIndex(of: ":") else { return nil }
        return (String(location[..<colon]), String(location[location.index(after: colon)...]))
    }

    /// The local IPv4 address the kernel routes `monitor` from (a UDP connect sends nothing).
    private static func localIPv4(towards monitor: TransportAddress) -> String? {
        guard let (host, port) = hostAndPort(monitor.location) else { return nil }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard named else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &local.sin_addr, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A TCP port on `host` that was free a moment ago (bound to port 0, then closed).
    static func freeTCPPort(on host: String) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Int.random(in: 20_000...60_000) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : Int.random(in: 20_000...60_000)
    }
}

/// A started `MonitorClient` and the address it receives its replies on.
struct ClientConnection: Sendable {
    let client: MonitorClient
    let address: TransportAddress

    /// Shuts the client down and removes the reply socket file of an ipc:// client (it is this process's alone).
    func close() async {
        await client.shutdown()
        if address.scheme == "ipc" { try? FileManager.default.removeItem(atPath: address.location) }
    }
}
