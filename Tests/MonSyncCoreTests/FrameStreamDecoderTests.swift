import MonSyncCore
import MonSyncMessages
import PropertyBased
import Testing

@Suite("Frame stream decoder")
struct FrameStreamDecoderTests {
    let codec = MessageCodec.monitor()
    var frames: [[UInt8]] { MessageSamples.canonical.map { codec.encode($0.message) } }

    @Test("one byte at a time, in random chunks and whole give the same frames")
    func splitsAgree() async throws {
        let frames = frames
        let stream = frames.flatMap { $0 }
        var whole = FrameStreamDecoder()
        let wholeResult = try whole.feed(stream)
        #expect(wholeResult == frames)

        var bytewise = FrameStreamDecoder()
        var bytewiseResult: [[UInt8]] = []
        for byte in stream { bytewiseResult += try bytewise.feed([byte]) }
        #expect(bytewiseResult == frames)
        #expect(bytewise.bufferedByteCount == 0)

        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            var rng = SeededRandomNumberGenerator(seed: seed)
            var decoder = FrameStreamDecoder()
            var result: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let n = min(stream.count - offset, 1 + Int(rng.next() % 97))
                result += (try? decoder.feed(stream[offset..<offset + n])) ?? []
                offset += n
            }
            #expect(result == frames, "seed \(seed)")
        }
    }

    @Test("every decoded frame decodes to the original message")
    func framesDecode() throws {
        var decoder = FrameStreamDecoder()
        let result = try decoder.feed(frames.flatMap { $0 })
        for (frame, sample) in zip(result, MessageSamples.canonical) {
            #expect(try codec.decode(frame) as? MMonSync == sample.message)
        }
    }

    @Test("an oversize header is refused before its payload arrives, and the decoder stays failed")
    func oversizeRefusedEarly() throws {
        var decoder = FrameStreamDecoder(maximumPayloadSize: 64)
        let big = codec.encode(MMonSync(op: .chunk, chunk: ArraySlice(repeating: 1, count: 1000)))
        #expect(throws: DecodeError.lengthOverLimit(what: "frame payload", length: UInt64(big.count - Frame.overhead), limit: 64)) {
            _ = try decoder.feed(big[..<Frame.headerSize])
        }
        #expect(decoder.bufferedByteCount == 0)
        #expect(throws: DecodeError.self) { _ = try decoder.feed(self.frames[0]) }
    }

    @Test("a corrupt frame in the stream fails it, after the good frames before it are handed out")
    func corruptFrameFails() throws {
        let frames = frames
        var bytes = frames.flatMap { $0 }
        bytes[frames[0].count + Frame.headerSize] ^= 0xFF  // first payload byte of the second frame
        var decoder = FrameStreamDecoder()
        #expect(try decoder.feed(bytes) == [frames[0]])
        #expect {
            _ = try decoder.feed([UInt8]())
        } throws: { error in
            if case .crcMismatch = error as? DecodeError { true } else { false }
        }
    }
}
