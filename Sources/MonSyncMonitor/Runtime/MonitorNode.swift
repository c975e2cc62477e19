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
    /// Called once the monitor has started (its transport listens), before the node waits.
    public let onStarted: (@Sendable () -> Void)?

    /// A node running `monitor`; `onStarted` runs once it has started.
    public init(monitor: Monitor, onStarted: (@Sendable () -> Void)? = nil) {
        self.monitor = monitor
        self.onStarted = onStarted
    }

    /// Starts the monitor and waits until a graceful shutdown or cancellation stops it.
    ///
    /// - Throws: ``MonitorError`` if the monitor cannot start.
    public func run() async throws {
        let monitor = monitor
        try await monitor.start()
        onStarted?()
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
