public import Logging
public import ServiceLifecycle

/// A ``Monitor`` as a swift-service-lifecycle `Service`: it runs until told to stop.
///
/// `run()` starts the monitor and returns after a graceful shutdown (or task
/// cancellation) has stopped it. ``runUntilSignalled(logger:)`` puts the node in
/// a `ServiceGroup` that turns SIGTERM and SIGINT into a graceful shutdown,
/// which is what a monitor process does.
///
/// ```swift
/// let node = MonitorNode(monitor: try Monitor(monmap: monmap, name: "a", transport: transport, store: store))
/// try await node.runUntilSignalled(logger: logger)
/// ```
public struct MonitorNode: Service {
    /// The monitor this node runs.
    public let monitor: Monitor

    /// A node running `monitor`.
    public init(monitor: Monitor) { self.monitor = monitor }

    /// Starts the monitor and waits until a graceful shutdown or cancellation stops it.
    ///
    /// - Throws: ``MonitorError`` if the monitor cannot start.
    public func run() async throws {
        let monitor = monitor
        try await monitor.start()
        await withTaskCancellationOrGracefulShutdownHandler {
            await monitor.waitUntilStopped()
        } onCancelOrGracefulShutdown: {
            Task { await monitor.stop() }
        }
        await monitor.stop()
    }

    /// Runs the node in a service group that shuts it down gracefully on SIGTERM or SIGINT.
    public func runUntilSignalled(logger: Logger) async throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
