/// An injectable clock reduced to what timers need: the time elapsed since a start, and sleeping until a moment.
///
/// Every timeout in MonSync goes through a `Timebase`, so tests drive time with
/// a test clock (swift-clocks' `TestClock`) and production uses
/// `ContinuousClock`. Wrapping the clock once removes the need to carry a
/// generic `Clock` type, with its own `Instant`, through every API.
public struct Timebase: Sendable {
    private let elapsed: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void

    /// A timebase over `clock`, starting now. An `any Clock<Duration>` is opened implicitly.
    public init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        sleeper = { moment in try await clock.sleep(until: start.advanced(by: moment), tolerance: nil) }
    }

    /// The wall-independent monotonic default.
    public static var continuous: Timebase { Timebase(ContinuousClock()) }

    /// Time elapsed since this timebase was made.
    public var now: Duration { elapsed() }

    /// Suspends until ``now`` reaches `moment`. Throws `CancellationError` if the task is cancelled.
    public func sleep(until moment: Duration) async throws { try await sleeper(moment) }

    /// Suspends for `duration`. Throws `CancellationError` if the task is cancelled.
    public func sleep(for duration: Duration) async throws { try await sleeper(now + duration) }
}
