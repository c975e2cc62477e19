// Transport throughput: one sender streaming messages of 64 B, 4 KiB, 1 MiB and 16 MiB to one
// receiver over bare libzmq (C, the baseline), ZeroMQTransport on tcp loopback in plaintext and
// with CURVE (`Path.main`), and LoopbackTransport. Each iteration is one run of the shared workload (an eighth of the counts of
// `transport-throughput`); MB/s and messages/s are custom metrics.
import Benchmark
import TransportThroughputWorkload

let scale = 0.125

let benchmarks: @Sendable () -> Void = {
    let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
    let messagesPerSecond = BenchmarkMetric.custom("msgs/s", polarity: .prefersLarger, useScalingFactor: false)
    for size in TransportThroughputWorkload.sizes {
        for path in TransportThroughputWorkload.Path.main {
            let count = TransportThroughputWorkload.count(for: size, scale: scale)
            Benchmark(
                "Throughput \(TransportThroughputWorkload.describe(size: size)), \(path.rawValue)",
                configuration: .init(
                    metrics: [.wallClock, megabytesPerSecond, messagesPerSecond],
                    warmupIterations: 0,
                    maxDuration: .seconds(20),
                    maxIterations: 3
                )
            ) { benchmark in
                for _ in benchmark.scaledIterations {
                    let outcome = try await TransportThroughputWorkload.run(path, size: size, count: count)
                    benchmark.measurement(megabytesPerSecond, Int(outcome.megabytesPerSecond.rounded()))
                    benchmark.measurement(messagesPerSecond, Int(outcome.messagesPerSecond.rounded()))
                }
            }
        }
    }
}
