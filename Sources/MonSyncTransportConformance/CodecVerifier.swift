public import MonSyncCore
public import MonSyncMessages

/// Checks that `FrameStreamDecoder` cuts a byte stream into the same frames however the stream is split,
/// in the manner of swift-nio's `ByteToMessageDecoderVerifier`.
///
/// A stream transport receives bytes in whatever pieces the kernel hands it: one
/// byte, half a header, three frames and a bit. The verifier feeds the same
/// stream to fresh decoders whole, one frame per read, one byte at a time and in
/// seeded random chunks, and checks that every way yields the expected frames,
/// leaves nothing buffered, and, for a corrupt stream, fails with the same error
/// after the same frames.
///
/// ```swift
/// let frames = messages.map { codec.encode(any: $0) }
/// try CodecVerifier().verify(frames: frames)          // Swift Testing or XCTest: a thrown failure fails the test
/// ```
public struct CodecVerifier: Sendable {
    /// One way of splitting the stream into reads.
    public enum Split: Sendable, Hashable, CustomStringConvertible {
        /// The whole stream in one read.
        case whole
        /// Each frame in a read of its own (the stream's natural boundaries).
        case perFrame
        /// One byte per read: every header and payload boundary falls between reads.
        case byteByByte
        /// Reads of random sizes from 1 to `maximumChunk` bytes, drawn from `seed`.
        case randomChunks(seed: UInt64, maximumChunk: Int)

        /// The split in words, for reports.
        public var description: String {
            switch self {
            case .whole: "whole"
            case .perFrame: "one frame per read"
            case .byteByByte: "one byte per read"
            case let .randomChunks(seed, maximumChunk): "random chunks of 1...\(maximumChunk) bytes (seed \(seed))"
            }
        }
    }

    /// A split whose outcome differed from what was expected, or a message that did not survive a round trip.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// The split that went wrong; `nil` for a round-trip failure of ``CodecVerifier/verifyRoundTrip(_:codec:)``.
        public var split: Split?
        /// What should have been produced.
        public var expected: String
        /// What was produced.
        public var observed: String

        /// The failure in one sentence.
        public var description: String {
            if let split { return "FrameStreamDecoder fed \(split): expected \(expected); observed \(observed)" }
            return "MessageCodec round trip: expected \(expected); observed \(observed)"
        }
    }

    /// The decoder's payload limit.
    public var maximumPayloadSize: Int
    /// The splits tried, in order.
    public var splits: [Split]

    /// A verifier trying the whole stream, one frame per read, one byte per read (for streams up to
    /// `byteByByteLimit` bytes) and `randomRuns` random chunkings drawn from `seed`.
    ///
    /// - Parameters:
    ///   - maximumPayloadSize: the decoder's payload limit.
    ///   - seed: the first random chunking's seed; the others use the following numbers.
    ///   - randomRuns: how many random chunkings to try.
    ///   - maximumChunk: the largest random read, in bytes.
    public init(maximumPayloadSize: Int = Frame.defaultMaximumPayloadSize, seed: UInt64 = 0,
                randomRuns: Int = 8, maximumChunk: Int = 64) {
        self.maximumPayloadSize = maximumPayloadSize
        splits = [.whole, .perFrame, .byteByByte]
            + (0..<UInt64(max(0, randomRuns))).map { .randomChunks(seed: seed &+ $0, maximumChunk: maximumChunk) }
    }

    /// Verifies that the concatenation of `frames` decodes into exactly `frames` under every split.
    ///
    /// - Throws: ``Failure`` for the first split that yields other frames, an error, or leftover bytes.
    public func verify(frames: [[UInt8]]) throws(Failure) {
        try verify(stream: frames, expectedFrames: frames, expectedError: nil)
    }

    /// Verifies that `messages` survive the whole path a transport puts them on: each is encoded by
    /// `codec`, the frames are cut back out of one stream under every split, and each frame decodes
    /// to a message that encodes to the very same bytes.
    ///
    /// Use it for a new `WireMessage` type: register it with the codec and pass a few instances.
    ///
    /// - Throws: ``Failure`` for the first split or message that goes wrong.
    public func verifyRoundTrip(_ messages: [any WireMessage], codec: MessageCodec = MessageCodec.monitor()) throws(Failure) {
        let frames = messages.map { codec.encode(any: $0) }
        try verify(frames: frames)
        for (index, frame) in frames.enumerated() {
            let decoded: any WireMessage
            do { decoded = try codec.decode(frame) } catch {
                throw Failure(split: nil, expected: "message \(index) (\(messages[index])) to decode", observed: "\(error)")
            }
            let again = codec.encode(any: decoded)
            guard again == frame else {
                throw Failure(split: nil, expected: "message \(index) to re-encode to its \(frame.count) bytes",
                              observed: "\(again.count) bytes, \(decoded)")
            }
        }
    }

    /// Verifies a stream whose frames are followed by corrupt bytes: under every split the decoder
    /// yields `expectedFrames`, then throws `expectedError`, and keeps throwing it.
    ///
    /// - Parameters:
    ///   - frames: the good frames at the start of the stream.
    ///   - corruptTail: the bytes after them.
    ///   - expectedError: the error every split must end with.
    public func verifyRejection(frames: [[UInt8]], corruptTail: [UInt8], expectedError: DecodeError) throws(Failure) {
        try verify(stream: frames + [corruptTail], expectedFrames: frames, expectedError: expectedError)
    }

    /// Feeds `pieces` (the stream's natural boundaries) under every split and compares the outcome.
    private func verify(stream pieces: [[UInt8]], expectedFrames: [[UInt8]], expectedError: DecodeError?) throws(Failure) {
        let stream = pieces.flatMap { $0 }
        let expectedOutcome = Outcome(frames: expectedFrames, error: expectedError, leftover: 0)
        for split in splits {
            if split == .byteByByte && stream.count > 1 << 20 { continue }  // a million reads is enough
            let outcome = run(split, stream: stream, pieces: pieces)
            guard outcome == expectedOutcome else {
                throw Failure(split: split, expected: expectedOutcome.description, observed: outcome.describe(against: expectedOutcome))
            }
        }
    }

    private struct Outcome: Equatable, CustomStringConvertible {
        var frames: [[UInt8]]
        var error: DecodeError?
        var leftover: Int
        /// The decoder accepted input again after an error, or changed its error.
        var recovered = false

        var description: String {
            "\(frames.count) frame(s) (\(frames.map(\.count)) bytes)"
                + (error.map { ", then \($0)" } ?? ", no error") + ", \(leftover) byte(s) left buffered"
                + (recovered ? ", and the decoder did not stay failed" : "")
        }

        func describe(against expected: Outcome) -> String {
            if let index = zip(frames, expected.frames).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                return "frame \(index) differs (\(frames[index].count) bytes where \(expected.frames[index].count) were expected); " + description
            }
            return description
        }
    }

    private func run(_ split: Split, stream: [UInt8], pieces: [[UInt8]]) -> Outcome {
        var decoder = FrameStreamDecoder(maximumPayloadSize: maximumPayloadSize)
        var outcome = Outcome(frames: [], error: nil, leftover: 0)
        func feed(_ bytes: ArraySlice<UInt8>) -> Bool {
            do {
                outcome.frames += try decoder.feed(bytes)
                return true
            } catch {
                outcome.error = error
                // A failed decoder must stay failed with the same error: the stream is out of step.
                do {
                    _ = try decoder.feed([UInt8]())
                    outcome.recovered = true
                } catch let again {
                    if again != error { outcome.recovered = true }
                }
                return false
            }
        }
        switch split {
        case .whole:
            _ = feed(stream[...])
        case .perFrame:
            for piece in pieces where !feed(piece[...]) { break }
        case .byteByByte:
            for index in stream.indices where !feed(stream[index...index]) { break }
        case let .randomChunks(seed, maximumChunk):
            var rng = SeededRandomNumberGenerator(seed: seed)
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + Int.random(in: 1...max(1, maximumChunk), using: &rng))
                guard feed(stream[start..<end]) else { break }
                start = end
            }
        }
        if outcome.error == nil {
            // An error found behind good frames of the same read comes with the next call: ask for it.
            if feed([UInt8]()[...]) { outcome.leftover = decoder.bufferedByteCount }
        }
        return outcome
    }
}
