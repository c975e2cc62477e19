// Prints the store bulk-load figures as a Markdown table (BENCHMARKS.md, "Store bulk load").
//
// Usage: swift run -c release store-bulk-load [megabytes-per-load] [repetitions]
//        swift run -c release store-bulk-load digest [megabytes]
import BulkLoadWorkload
import Foundation

let arguments = CommandLine.arguments
if arguments.count > 1 && arguments[1] == "digest" {
    let megabytes = arguments.count > 2 ? Int(arguments[2]) ?? 1024 : 1024
    let outcome = try BulkLoadWorkload.digest(valueSize: 1024, totalBytes: megabytes << 20, directory: BulkLoadWorkload.scratchDirectory())
    let line = String(format: "digest of %d keys, %.0f MiB (1 KiB values): %.2f s = %.0f MB/s (store loaded in %.2f s); sha256 %@",
                      outcome.keys, Double(outcome.bytes) / 1_048_576, outcome.digestSeconds,
                      Double(outcome.bytes) / 1_048_576 / outcome.digestSeconds, outcome.loadSeconds, outcome.hex)
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
    exit(0)
}
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
