// Prints transport throughput as a Markdown table (BENCHMARKS.md, "Transport throughput"):
// bare libzmq DEALER -> ROUTER (C), ZeroMQTransport over tcp loopback and LoopbackTransport,
// for 64 B, 4 KiB, 1 MiB and 16 MiB messages, all in this one process and run, with each
// path's MB/s as a share of bare libzmq's for the same size.
//
// Usage: swift run -c release transport-throughput [repetitions] [scale] [sizes] [paths]
//   repetitions: runs of each case, the median is reported (default 3)
//   scale: multiplies the message counts (default 1: 100k msgs of 64 B, 50k of 4 KiB, 4 GiB of big ones)
//   sizes: comma-separated message sizes in bytes (default 64,4096,1048576,16777216)
//   paths: comma-separated subset of bare,zmq,curve,loopback,send,recv,zmq2,curve2 (default
//          bare,zmq,curve,loopback,send,recv; the ratio needs bare); curve = ZeroMQTransport with
//          CURVE; send = ZeroMQTransport -> bare ROUTER, recv = bare DEALER -> ZeroMQTransport
//          (diagnostics); zmq2, curve2 = plaintext and CURVE with a libzmq context per transport.
//          With curve (curve2) and zmq (zmq2) both run, a second table gives CURVE / plaintext.
import Foundation
import TransportThroughputWorkload

typealias Workload = TransportThroughputWorkload

let arguments = CommandLine.arguments
let repetitions = arguments.count > 1 ? max(1, Int(arguments[1]) ?? 3) : 3
let scale = arguments.count > 2 ? Double(arguments[2]) ?? 1 : 1
let sizes = arguments.count > 3 ? arguments[3].split(separator: ",").compactMap { Int($0) } : Workload.sizes
let pathNames: [String: Workload.Path] = ["bare": .bareZeroMQ, "zmq": .zeroMQTransport, "loopback": .loopbackTransport,
                                          "send": .zeroMQToBare, "recv": .bareToZeroMQ, "curve": .zeroMQCurve,
                                          "zmq2": .zeroMQContexts, "curve2": .zeroMQCurveContexts]
let paths = arguments.count > 4 ? arguments[4].split(separator: ",").compactMap { pathNames[String($0)] }
    : [.bareZeroMQ, .zeroMQTransport, .zeroMQCurve, .loopbackTransport, .zeroMQToBare, .bareToZeroMQ]

func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

var ratios: [String] = []
emit("load average at start: \(loadAverage())")
emit("")
emit("| size | path | messages | MB/s (median of \(repetitions)) | msgs/s (median) | MB/s min–max | vs bare (medians) | vs bare (bests) |")
emit("|---|---|---:|---:|---:|---:|---:|---:|")
for size in sizes {
    let count = Workload.count(for: size, scale: scale)
    var outcomes: [Workload.Path: [Workload.Outcome]] = [:]
    // Interleave the paths, so a burst of load from elsewhere hits all of them alike.
    let loadBefore = loadAverage()
    for _ in 0..<repetitions {
        for path in paths {
            outcomes[path, default: []].append(try await Workload.run(path, size: size, count: count))
        }
    }
    let bare = outcomes[.bareZeroMQ].map { median($0.map(\.megabytesPerSecond)) } ?? .nan
    let bareBest = outcomes[.bareZeroMQ].map { $0.map(\.megabytesPerSecond).max()! } ?? .nan
    for path in paths {
        let runs = outcomes[path]!
        let rates = runs.map(\.megabytesPerSecond)
        let mbps = median(rates)
        let line = String(format: "| %@ | %@ | %d | %.1f | %.0f | %.1f–%.1f | %.0f %% | %.0f %% |",
                          Workload.describe(size: size), path.rawValue, count, mbps,
                          median(runs.map(\.messagesPerSecond)), rates.min()!, rates.max()!, 100 * mbps / bare,
                          100 * rates.max()! / bareBest)
        emit(line)
    }
    // CURVE against plaintext, repetition by repetition (the two ran one after the other).
    for path in paths {
        guard let plain = path.plaintext, let curveRuns = outcomes[path], let plainRuns = outcomes[plain] else { continue }
        let perRepetition = zip(curveRuns, plainRuns).map { $0.megabytesPerSecond / $1.megabytesPerSecond }
        let curveMedian = median(curveRuns.map(\.megabytesPerSecond)), plainMedian = median(plainRuns.map(\.megabytesPerSecond))
        ratios.append(String(format: "| %@ | %@ | %.1f | %.1f | %.0f | %.0f | %.0f %% | %@ | %@ → %@ |",
                             Workload.describe(size: size), path.rawValue, plainMedian, curveMedian,
                             median(plainRuns.map(\.messagesPerSecond)), median(curveRuns.map(\.messagesPerSecond)),
                             100 * curveMedian / plainMedian,
                             perRepetition.map { String(format: "%.0f %%", 100 * $0) }.joined(separator: ", "),
                             loadBefore, loadAverage()))
    }
}
if !ratios.isEmpty {
    emit("")
    emit("| size | path | plaintext MB/s (median) | CURVE MB/s (median) | plaintext msgs/s | CURVE msgs/s | CURVE / plaintext (medians) | per repetition | load avg |")
    emit("|---|---|---:|---:|---:|---:|---:|---|---|")
    for line in ratios { emit(line) }
}
