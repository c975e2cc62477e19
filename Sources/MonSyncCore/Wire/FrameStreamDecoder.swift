/// Cuts a byte stream (a TCP or Unix socket) into whole frames, for transports that do not keep message boundaries.
///
/// Feed it bytes as they arrive, in any split; it returns each complete frame
/// once, verified (magic, length limit, CRC). Fed one byte at a time, in
/// chunks, or all at once, it yields the same frames. A header announcing more
/// than the limit is refused as soon as its 16 bytes (with a valid header CRC) are in, before the payload
/// is buffered. After an error the stream cannot be trusted to be in step, so the
/// decoder stays failed: close the connection.
public struct FrameStreamDecoder: Sendable {
    /// The largest payload accepted.
    public let maximumPayloadSize: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: DecodeError?

    /// A decoder that refuses, before buffering it, any frame whose payload is larger than `maximumPayloadSize`.
    public init(maximumPayloadSize: Int = Frame.defaultMaximumPayloadSize) {
        self.maximumPayloadSize = maximumPayloadSize
    }

    /// Bytes received but not yet part of a returned frame.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Appends `bytes` and returns every frame completed by them, in order.
    ///
    /// - Throws: the ``DecodeError`` of the first bad frame; every later call throws it again.
    ///   If this call completed good frames before the bad one, it returns them and the next
    ///   call throws (feed an empty collection to ask), so the frames returned do not depend on
    ///   how the stream was split.
    public mutating func feed<C: Collection<UInt8>>(_ bytes: C) throws(DecodeError) -> [[UInt8]] {
        if let failure { throw failure }
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        do {
            while let frame = try nextFrame() { frames.append(frame) }
        } catch {
            failure = error
            buffer = []
            readIndex = 0
            if frames.isEmpty { throw error }
            return frames  // good frames that preceded the bad one; the error comes with the next call
        }
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        return frames
    }

    private mutating func nextFrame() throws(DecodeError) -> [UInt8]? {
        let available = buffer.count - readIndex
        guard available >= Frame.headerSize else { return nil }
        let header = try Frame.Header.parse(buffer[readIndex..<readIndex + Frame.headerSize],
                                            maximumPayloadSize: maximumPayloadSize)
        let size = header.frameSize
        guard available >= size else {
            // Make room for the whole frame once, so a large payload is not regrown chunk by chunk.
            buffer.reserveCapacity(readIndex + size)
            return nil
        }
        let frame: [UInt8]
        if readIndex == 0 && buffer.count == size {
            frame = buffer  // the whole buffer is this frame: hand it over without copying
            buffer = []
        } else {
            frame = Array(buffer[readIndex..<readIndex + size])
            readIndex += size
        }
        _ = try Frame.decode(frame[...], maximumPayloadSize: maximumPayloadSize)  // verifies the CRC
        return frame
    }
}
