/// A conformance check that did not hold: which transport, which check, what was expected and what was seen.
///
/// ``TransportConformance/run(_:)`` throws it. Its ``description`` is written to
/// be read in a test log without the kit's source at hand:
///
/// ```
/// unix: perPairOrdering failed: expected the messages from unix:///tmp/a.sock in send order 0, 1, 2, …;
/// observed sequence 17 where 16 was due
/// ```
public struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    /// The name the ``TransportConformance`` was built with.
    public var transport: String
    /// The check that failed.
    public var check: ConformanceCheck
    /// What the contract requires at the point of failure.
    public var expected: String
    /// What the transport did instead.
    public var observed: String

    /// Creates a failure report.
    public init(transport: String, check: ConformanceCheck, expected: String, observed: String) {
        self.transport = transport
        self.check = check
        self.expected = expected
        self.observed = observed
    }

    /// The whole report in one line: transport, check, expected, observed.
    public var description: String {
        "\(transport): \(check.rawValue) failed: expected \(expected); observed \(observed)"
    }
}

/// What a check throws internally; ``TransportConformance/run(_:)`` adds the transport and check names.
struct Mismatch: Error {
    var expected: String
    var observed: String
}
