import Foundation
import Testing

/// `monsync demo`, run as a real process: the main job must end with matching digests and exit 0.
@Suite("monsync demo", .serialized)
struct DemoCommandTests {
    @Test("the in-process demo syncs c and exits 0 with identical stores")
    func loopbackDemo() async throws {
        let result = try await monsync(["demo", "--keys", "3000", "--value-size", "256", "--write-rate", "20"], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("OK: all three stores are identical"))
        #expect(result.stdout.contains("[c] rejoined: quorum [a, b, c]"))
        let digests = result.stdout.split(separator: "\n").filter { $0.contains("sha256:") }
            .compactMap { $0.split(separator: " ").first { $0.hasPrefix("sha256:") } }
        #expect(digests.count == 3 && Set(digests).count == 1)
    }

    @Test("a bad option is refused with a clear sentence")
    func badOption() async throws {
        let result = try await monsync(["demo", "--window", "0"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--window must be between 1 and 1024"))
    }

    #if ZeroMQ
    /// The demo's nodes get no `--insecure-plaintext`: a node without keys would refuse to start,
    /// so the sync completing shows every link ran with CURVE.
    @Test("--transport zmq runs the same sync as three processes over ZeroMQ, with CURVE keys")
    func zeroMQDemo() async throws {
        let result = try await monsync(["demo", "--transport", "zmq", "--keys", "3000", "--value-size", "256",
                                        "--write-rate", "20"], timeout: .seconds(180))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("OK: all three stores are identical"))
        #expect(result.stdout.contains("[c] stopped: exit 0"))
        #expect(result.stdout.contains("over ZeroMQ on 127.0.0.1 with CURVE keys"))
    }
    #endif
}
