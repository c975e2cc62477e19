public import Logging
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// The HTTP/1.1 server of a node's admin endpoint (`monsync node --admin-address`): `GET /metrics`
/// and `GET /health`, answered by the routes it is given.
///
/// It is small on purpose: GET and HEAD on fixed paths, no request bodies, at most
/// ``maximumConnections`` connections at once, each closed after ``connectionTimeout`` whatever
/// the client does, so a slow or hostile scraper cannot hold the node's resources.
///
/// Bind first (``bind(_:routes:logger:)``: a busy port is an error before the node starts), then
/// run it as a `Service` beside the monitor; a graceful shutdown closes the listening socket and
/// lets the requests in progress finish.
///
/// ```swift
/// let server = try await AdminServer.bind(AdminAddress(host: "127.0.0.1", port: 9283),
///                                         routes: ["/metrics": { .text(200, "…") }], logger: logger)
/// try await ServiceGroup(services: [server, …], logger: logger).run()
/// ```
public final class AdminServer: Service, Sendable {
    /// Answers a request to one path.
    public typealias Route = @Sendable () async -> AdminResponse

    /// Connections served at once; more are closed as they arrive.
    public static let maximumConnections = 32
    /// The longest one connection may stay open.
    public static let connectionTimeout: Duration = .seconds(30)
    /// The largest request body read (and ignored); a larger one closes the connection.
    static let maximumBodyBytes = 64 * 1024

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// The address the server listens on (with the port the system picked, for port 0).
    public let boundAddress: AdminAddress
    private let channel: NIOAsyncChannel<Connection, Never>
    private let routes: [String: Route]
    private let logger: Logger
    private let open = LockedCount()

    private init(channel: NIOAsyncChannel<Connection, Never>, boundAddress: AdminAddress, routes: [String: Route], logger: Logger) {
        self.channel = channel
        self.boundAddress = boundAddress
        self.routes = routes
        self.logger = logger
    }

    /// Listens on `address`.
    ///
    /// - Parameters:
    ///   - address: where to listen.
    ///   - routes: the answer to a GET of each path (`/metrics`, `/health`); others get 404.
    ///   - logger: where refused connections and failures are logged.
    /// - Throws: ``AdminServerError/cannotListen(_:reason:)`` when the address cannot be bound.
    public static func bind(_ address: AdminAddress, routes: [String: Route], logger: Logger) async throws(AdminServerError) -> AdminServer {
        let channel: NIOAsyncChannel<Connection, Never>
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: address.host, port: address.port) { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: child)
                    }
                }
        } catch {
            throw .cannotListen(address.description, reason: Self.reason(error))
        }
        let port = channel.channel.localAddress?.port ?? address.port
        return AdminServer(channel: channel, boundAddress: AdminAddress(host: address.host, port: port), routes: routes, logger: logger)
    }

    /// Serves until a graceful shutdown (or cancellation), then closes the listening socket and
    /// waits for the requests in progress.
    public func run() async throws {
        let channel = channel
        try await withGracefulShutdownHandler {
            try await channel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        guard open.enter(limit: Self.maximumConnections) else {
                            logger.warning("admin endpoint: too many connections; closing a new one",
                                           metadata: ["limit": "\(Self.maximumConnections)"])
                            try? await connection.channel.close()
                            continue
                        }
                        group.addTask {
                            defer { self.open.leave() }
                            await self.serveBounded(connection)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            channel.channel.close(promise: nil)
        }
    }

    /// Serves one connection, closing it after ``connectionTimeout`` at the latest.
    private func serveBounded(_ connection: Connection) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.serve(connection) }
            group.addTask {
                try? await Task.sleep(for: Self.connectionTimeout)
                // Whatever the client is doing, the connection ends now.
                connection.channel.close(promise: nil)
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var bodyBytes = 0
                for try await part in inbound {
                    switch part {
                    case let .head(request):
                        head = request
                        bodyBytes = 0
                    case let .body(buffer):
                        bodyBytes += buffer.readableBytes
                        if bodyBytes > Self.maximumBodyBytes {
                            try await Self.write(.text(413, "request body too large"), head: nil, keepAlive: false, to: outbound)
                            return
                        }
                    case .end:
                        guard let request = head else { return }
                        head = nil
                        let response = await respond(to: request)
                        try await Self.write(response, head: request, keepAlive: request.isKeepAlive, to: outbound)
                        if !request.isKeepAlive { return }
                    }
                }
            }
        } catch {
            // A client that goes away mid-request is not the node's problem.
            logger.debug("admin endpoint: connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// The answer to `request`: its route's for GET and HEAD of a known path.
    func respond(to request: HTTPRequestHead) async -> AdminResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return .text(405, "only GET and HEAD are served")
        }
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard let route = routes[path] else {
            return .text(404, "not found; try " + routes.keys.sorted().joined(separator: " or "))
        }
        return await route()
    }

    private static func write(_ response: AdminResponse, head request: HTTPRequestHead?, keepAlive: Bool,
                              to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let version = request?.version ?? .http1_1
        try await outbound.write(.head(HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status),
                                                        headers: headers)))
        if request?.method != .HEAD {
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
        }
        try await outbound.write(.end(nil))
    }

    /// `Address already in use (errno 98)` rather than NIO's description of the failed call.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return "\(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))" }
        return "\(error)"
    }
}
