/// A wait that gave up: what it waited for and, for the failure message, what it saw then.
public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var details: String

    public init(what: String, details: String = "") {
        self.what = what
        self.details = details
    }

    public var description: String { "timed out waiting for \(what)" + (details.isEmpty ? "" : " (\(details))") }
}

/// Polls `condition` in real time, every `interval`, until it holds; throws ``TimedOut`` once `timeout`
/// has passed without it (and `CancellationError` if the waiting task is cancelled).
public func eventually(_ what: String, timeout: Duration = .seconds(10), polling interval: Duration = .milliseconds(5),
                       _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !(try await condition()) {
        guard clock.now < deadline else { throw TimedOut(what: what) }
        try await clock.sleep(for: interval)
    }
}
