// libFuzzer entry point for the MonSync frame and message decoder.
//
// Build and run (see README, "Fuzzing"):
//   swift build -c release --sanitize=fuzzer --sanitize=address --product MonSyncDecoderFuzzer
//   .build/release/MonSyncDecoderFuzzer Tests/MonSyncCoreTests/GoldenVectors -max_total_time=60
//
// Without the fuzzer runtime (a plain `swift build`), the program replays the
// files named on its command line through the same checks, so a crash input
// can be debugged in an ordinary build.

import Foundation
import MonSyncCore

/// Decodes `bytes` every way the node does, and checks what must hold for any input.
func exercise(_ bytes: [UInt8]) {
    let codec = MessageCodec(maximumPayloadSize: 1 << 20)
    if let message = try? codec.decode(bytes) {
        // Whatever decodes must re-encode to a frame that decodes to the same message.
        let again = codec.encode(any: message)
        guard let back = try? codec.decode(again), "\(back)" == "\(message)" else {
            fatalError("re-encoded message did not decode to the same value")
        }
        if let sync = message as? MMonSync, let backSync = back as? MMonSync, sync != backSync {
            fatalError("MMonSync round trip changed the message")
        }
    }
    // The stream decoder must agree with the whole-frame decoder on any split.
    var stream = FrameStreamDecoder(maximumPayloadSize: 1 << 20)
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    _ = try? stream.feed(bytes[..<split])
    _ = try? stream.feed(bytes[split...])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    exercise(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

// Replay mode: only reached when libFuzzer does not provide `main`.
for path in CommandLine.arguments.dropFirst() {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
    let files = isDirectory.boolValue
        ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { "\(path)/\($0)" }
        : [path]
    for file in files {
        if let data = FileManager.default.contents(atPath: file) { exercise([UInt8](data)) }
    }
    print("replayed \(files.count) input(s) from \(path)")
}
