// Store bulk load: applying a sync's stream of sorted 1 MiB chunks to a RocksDB
// staging area, write-batch vs SST writer + ingest, for 100 B, 1 KiB and 64 KiB
// values. Each iteration loads 64 MiB from scratch; MB/s and keys/s are custom metrics.
import Benchmark
import BulkLoadWorkload

let megabytesPerLoad = 64

let benchmarks: @Sendable () -> Void = {
    let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
    let keysPerSecond = BenchmarkMetric.custom("keys/s", polarity: .prefersLarger, useScalingFactor: false)
    for valueSize in [100, 1024, 64 * 1024] {
        for method in BulkLoadWorkload.Method.allCases {
            let label = valueSize >= 1024 ? "\(valueSize / 1024) KiB" : "\(valueSize) B"
            Benchmark(
                "Bulk load \(label) values, \(method.rawValue)",
                configuration: .init(
                    metrics: [.wallClock, megabytesPerSecond, keysPerSecond],
                    warmupIterations: 0,
                    maxDuration: .seconds(30),
                    maxIterations: 3
                )
            ) { benchmark in
                let stream = try BulkLoadWorkload.makeStream(valueSize: valueSize, totalBytes: megabytesPerLoad << 20)
                for _ in benchmark.scaledIterations {
                    benchmark.startMeasurement()
                    let outcome = try BulkLoadWorkload.load(stream, method: method, directory: BulkLoadWorkload.scratchDirectory())
                    benchmark.stopMeasurement()
                    benchmark.measurement(megabytesPerSecond, Int(outcome.megabytesPerSecond.rounded()))
                    benchmark.measurement(keysPerSecond, Int(outcome.keysPerSecond.rounded()))
                }
            }
        }
    }
}
