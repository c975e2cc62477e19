// Prints the store bulk-load figures as a Markdown table (BENCHMARKS.md, "Store bulk load").
//
// Usage: swift run -c release store-bulk-load [megabytes-per-load] [repetitions]
import BulkLoadWorkload
import Foundation

let arguments = CommandLine.arguments
let megabytes = arguments.count > 1 ? Int(arguments[1]) ?? 256 : 256
let repetitions = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3

FileHandle.standardOutput.write(Data("| value size | method | MB/s | keys/s | seconds (best of \(repetitions)) | data |\n|---|---|---:|---:|---:|---|\n".utf8))
for valueSize in [100, 1024, 64 * 1024] {
    let stream = try BulkLoadWorkload.makeStream(valueSize: valueSize, totalBytes: megabytes << 20)
    for method in BulkLoadWorkload.Method.allCases {
        var best: BulkLoadWorkload.Outcome?
        for _ in 0..<repetitions {
            let outcome = try BulkLoadWorkload.load(stream, method: method, directory: BulkLoadWorkload.scratchDirectory())
            if best == nil || outcome.seconds < best!.seconds { best = outcome }
        }
        let outcome = best!
        let size = valueSize >= 1024 ? "\(valueSize / 1024) KiB" : "\(valueSize) B"
        let line = String(format: "| %@ | %@ | %.1f | %.0f | %.2f | %d keys, %.0f MiB, %d chunks |",
                     size, method.rawValue, outcome.megabytesPerSecond, outcome.keysPerSecond, outcome.seconds,
                     outcome.keys, Double(outcome.bytes) / 1_048_576, stream.chunks.count)
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
