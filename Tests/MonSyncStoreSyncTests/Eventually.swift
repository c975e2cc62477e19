import Testing

/// Waits, in real time, for `condition`; records an issue after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async -> Bool) async {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !(await condition()) {
        if clock.now > deadline {
            Issue.record("timed out waiting for \(what)\(seedNote)")
            return
        }
        try? await Task.sleep(for: .milliseconds(2))
    }
}
