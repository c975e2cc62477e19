// libFuzzer entry point for the MonSync frame and message decoder.
//
// Build and run (see README, "Fuzzing"):
//   swift build -c release --sanitize=fuzzer --sanitize=address --product MonSyncDecoderFuzzer
//   .build/release/MonSyncDecoderFuzzer Tests/MonSyncCoreTests/GoldenVectors -max_total_time=60
//
// Without the fuzzer runtime (a plain `swift build`), the program replays the
// files named on its command line through the same checks, so a crash input
// can be debugged in an ordinary build (`swift run MonSyncDecoderFuzzer crash-…`).

import Foundation
import MonSyncCore
import MonSyncMessages

/// Decodes `bytes` every way the node does, and checks what must hold for any input.
///
/// Random mutations almost never carry valid checksums, so the input is also
/// decoded with its length and both CRCs repaired: that is what lets the fuzzer
/// reach the payload decoders behind the frame checks.
func exercise(_ bytes: [UInt8]) {
    check(bytes)
    if bytes.count >= Frame.overhead { check(repairingChecksums(bytes)) }
}

func repairingChecksums(_ bytes: [UInt8]) -> [UInt8] {
    var frame = bytes
    func put(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<4 { frame[offset + i] = $0[i] } }
    }
    put(UInt32(frame.count - Frame.overhead), at: 8)
    put(CRC32C.checksum(frame[0..<12]), at: 12)
    put(CRC32C.checksum(frame[Frame.headerSize..<(frame.count - Frame.trailerSize)]), at: frame.count - Frame.trailerSize)
    return frame
}

func check(_ bytes: [UInt8]) {
    let codec = MessageCodec.monitor(maximumPayloadSize: 1 << 20)
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

/// Replays the files and folders named on the command line through ``exercise(_:)``.
func replay(_ arguments: [String]) {
    for path in arguments {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            print("no such file: \(path)")
            continue
        }
        let files = isDirectory.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { "\(path)/\($0)" }
            : [path]
        for file in files {
            if let data = FileManager.default.contents(atPath: file) { exercise([UInt8](data)) }
        }
        print("replayed \(files.count) input(s) from \(path) without a failure")
    }
}

// The fuzzer build compiles this file as a library (libFuzzer owns `main`), where a global's
// initializer runs only if something reads it: this line is the replay program in a plain
// build and inert under the fuzzer. (A top-level statement would not compile there.)
let replayed: Void = replay(Array(CommandLine.arguments.dropFirst()))
