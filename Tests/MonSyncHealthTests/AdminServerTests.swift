import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MonSyncAdmin
import Testing

@Suite("The admin endpoint: its address and its HTTP answers")
struct AdminServerTests {
    @Test("HOST:PORT, [IPv6]:PORT and :PORT parse; anything else is refused with a reason",
          arguments: [("127.0.0.1:9283", "127.0.0.1", 9283), ("[::1]:80", "::1", 80), (":0", "0.0.0.0", 0), ("localhost:1", "localhost", 1)])
    func addresses(text: String, host: String, port: Int) throws {
        let address = try AdminAddress(parsing: text)
        #expect(address.host == host && address.port == port)
    }

    @Test("malformed addresses", arguments: ["localhost", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "host:-1", "a b:1"])
    func malformed(text: String) {
        #expect(throws: AdminServerError.self) { _ = try AdminAddress(parsing: text) }
    }

    @Test("GET of a route answers it; another path is 404, another method 405; port 0 binds a free port")
    func serves() async throws {
        let server = try await AdminServer.bind(AdminAddress(host: "127.0.0.1", port: 0),
                                                routes: ["/health": { AdminResponse(status: 503, contentType: "application/json", body: Array("{}".utf8)) }],
                                                logger: Logger(label: "test"))
        #expect(server.boundAddress.port > 0)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await server.run() }
            let port = server.boundAddress.port
            #expect(await exchange(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
            #expect(await exchange(port: port, "GET /health?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").hasSuffix("\r\n\r\n{}"))
            #expect(await exchange(port: port, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 404 Not Found\r\n"))
            #expect(await exchange(port: port, "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
            group.cancelAll()
        }
    }

    @Test("a port in use is a typed error, not a crash")
    func busy() async throws {
        let server = try await AdminServer.bind(AdminAddress(host: "127.0.0.1", port: 0), routes: [:], logger: Logger(label: "test"))
        await #expect(throws: AdminServerError.self) {
            _ = try await AdminServer.bind(server.boundAddress, routes: [:], logger: Logger(label: "test"))
        }
    }
}

/// Sends `request` to 127.0.0.1:`port` and reads until the server closes (at most 2 minutes: the
/// server shares this test process with every other suite, whose load can delay its answer).
private func exchange(port: Int, _ request: String) async -> String {
    await Task.detached {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var limit = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return "" }
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response += buffer[..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }.value
}
