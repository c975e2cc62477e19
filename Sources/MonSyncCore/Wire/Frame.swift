import CMonSyncCRC32C

/// The envelope around every message: a 16-byte header, the payload, and the payload's CRC32C.
///
/// ```
/// offset  size  field
///      0     4  magic           "MSYN" (0x4D 0x53 0x59 0x4E)
///      4     2  message type    u16 LE
///      6     1  version         u8, payload version the sender wrote
///      7     1  compat version  u8, oldest version a reader must know
///      8     4  payload length  u32 LE
///     12     4  header crc32c   u32 LE, over bytes 0..<12
///     16     n  payload
///   16+n     4  payload crc32c  u32 LE (Castagnoli, over the payload only)
/// ```
///
/// As in Ceph's messenger, the header has a checksum of its own: a corrupted
/// type or length is caught before the payload is read or buffered.
public enum Frame {
    /// "MSYN" read as a little-endian `u32`.
    public static let magic: UInt32 = 0x4E59_534D
    /// Bytes before the payload.
    public static let headerSize = 16
    /// Bytes covered by the header checksum.
    static let checkedHeaderSize = 12
    /// Bytes after the payload.
    public static let trailerSize = 4
    /// Header plus trailer.
    public static let overhead = headerSize + trailerSize
    /// The default limit on a frame's payload: 64 MiB.
    public static let defaultMaximumPayloadSize = 64 << 20

    /// The fixed-size header of a frame.
    public struct Header: Sendable, Hashable {
        /// What the payload is: the codec finds the message type registered under it.
        public var type: MessageType
        /// The encoding version of the payload.
        public var version: UInt8
        /// The oldest decoder version that can read the payload; a newer one is refused as unsupported.
        public var compatVersion: UInt8
        /// The payload's length in bytes, checked against the limit before anything is buffered.
        public var payloadLength: Int

        /// A header for a payload of `payloadLength` bytes of message type `type`.
        public init(type: MessageType, version: UInt8, compatVersion: UInt8, payloadLength: Int) {
            self.type = type
            self.version = version
            self.compatVersion = compatVersion
            self.payloadLength = payloadLength
        }

        /// Total frame size: header, payload and trailer.
        public var frameSize: Int { Frame.overhead + payloadLength }

        /// Parses a header from the first 16 bytes of `bytes`, checking magic, header CRC and the payload limit.
        ///
        /// Nothing is allocated: the length is checked against `maximumPayloadSize`
        /// before any caller buffers the payload.
        public static func parse(_ bytes: ArraySlice<UInt8>, maximumPayloadSize: Int) throws(DecodeError) -> Header {
            guard bytes.count >= Frame.headerSize else {
                throw .truncated(needed: Frame.headerSize - bytes.count, offset: bytes.count)
            }
            var decoder = WireDecoder(bytes)
            let magic = try decoder.decodeUInt32()
            guard magic == Frame.magic else { throw .badMagic(magic) }
            let headerCRC = CRC32C.checksum(bytes.prefix(Frame.checkedHeaderSize))
            let type = MessageType(try decoder.decodeUInt16())
            let version = try decoder.decodeUInt8()
            let compat = try decoder.decodeUInt8()
            let length = try decoder.decodeUInt32()
            let expectedCRC = try decoder.decodeUInt32()
            guard expectedCRC == headerCRC else { throw .headerCRCMismatch(expected: expectedCRC, actual: headerCRC) }
            guard length <= maximumPayloadSize else {
                throw .lengthOverLimit(what: "frame payload", length: UInt64(length), limit: maximumPayloadSize)
            }
            if compat > version {
                throw .invalidField(name: "frame compat version (above version \(version))", value: UInt64(compat))
            }
            return Header(type: type, version: version, compatVersion: compat, payloadLength: Int(length))
        }
    }

    /// Encodes one frame around the payload that `writePayload` appends.
    public static func encode(
        type: MessageType, version: UInt8, compatVersion: UInt8,
        payloadCapacity: Int = 256,
        _ writePayload: (inout WireEncoder) -> Void
    ) -> [UInt8] {
        var encoder = WireEncoder(reservingCapacity: overhead + payloadCapacity)
        encoder.encode(magic)
        encoder.encode(type.rawValue)
        encoder.encode(version)
        encoder.encode(compatVersion)
        encoder.encode(UInt32(0))  // payload length, patched below
        encoder.encode(UInt32(0))  // header crc, patched below
        writePayload(&encoder)
        let length = encoder.count - headerSize
        encoder.patch(UInt32(length), at: 8)
        encoder.patch(CRC32C.checksum(encoder.bytes.prefix(checkedHeaderSize)), at: checkedHeaderSize)
        let crc = encoder.bytes.withUnsafeBufferPointer { all in
            CRC32C.checksum(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: all[headerSize...])))
        }
        encoder.encode(crc)
        return encoder.finish()
    }

    /// Splits one complete frame into its header and payload, verifying length and CRC.
    ///
    /// `bytes` must hold exactly one frame. The payload is a slice of `bytes`: no copy.
    public static func decode(
        _ bytes: ArraySlice<UInt8>, maximumPayloadSize: Int = defaultMaximumPayloadSize
    ) throws(DecodeError) -> (header: Header, payload: ArraySlice<UInt8>) {
        let header = try Header.parse(bytes, maximumPayloadSize: maximumPayloadSize)
        let frameSize = header.frameSize
        if bytes.count < frameSize {
            throw .truncated(needed: frameSize - bytes.count, offset: bytes.count)
        }
        if bytes.count > frameSize { throw .trailingBytes(count: bytes.count - frameSize) }
        let payloadStart = bytes.startIndex + headerSize
        let payload = bytes[payloadStart..<payloadStart + header.payloadLength]
        var trailer = WireDecoder(bytes[(payloadStart + header.payloadLength)...])
        let expected = try trailer.decodeUInt32()
        let actual = CRC32C.checksum(payload)
        guard expected == actual else { throw .crcMismatch(expected: expected, actual: actual) }
        return (header, payload)
    }
}
