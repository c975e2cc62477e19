/// Appends values to a byte buffer with Ceph's encoding conventions.
///
/// Integers are little-endian at their exact width; strings and byte blobs are
/// a `u32` length followed by the bytes; a versioned struct is `struct_v` (u8),
/// `struct_compat` (u8) and a `u32` body length, then the body (see
/// ``encodeVersionedStruct(version:compat:_:)``). PROTOCOL.md is the reference.
public struct WireEncoder: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an encoder, reserving `capacity` bytes up front.
    public init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The number of bytes written so far.
    @inlinable public var count: Int { bytes.count }

    /// Appends one byte.
    public mutating func encode(_ value: UInt8) { bytes.append(value) }
    /// Appends a boolean as one byte, 1 or 0.
    public mutating func encode(_ value: Bool) { bytes.append(value ? 1 : 0) }
    /// Appends a little-endian `u16`.
    public mutating func encode(_ value: UInt16) { appendLittleEndian(value) }
    /// Appends a little-endian `u32`.
    public mutating func encode(_ value: UInt32) { appendLittleEndian(value) }
    /// Appends a little-endian `u64`.
    public mutating func encode(_ value: UInt64) { appendLittleEndian(value) }
    /// Appends a little-endian, two's-complement `s32`.
    public mutating func encode(_ value: Int32) { appendLittleEndian(UInt32(bitPattern: value)) }
    /// Appends a little-endian, two's-complement `s64`.
    public mutating func encode(_ value: Int64) { appendLittleEndian(UInt64(bitPattern: value)) }

    /// A string: `u32` byte length, then its UTF-8 bytes (no terminator).
    public mutating func encode(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            encode(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A byte blob (Ceph's `bufferlist`): `u32` length, then the bytes.
    public mutating func encodeBlob<C: Collection<UInt8>>(_ blob: C) {
        encode(UInt32(blob.count))
        appendRaw(blob)
    }

    /// Raw bytes with no length prefix.
    public mutating func appendRaw<C: Collection<UInt8>>(_ raw: C) {
        // `withContiguousStorageIfAvailable` turns arrays and slices into one memcpy.
        if raw.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: raw)
        }
    }

    /// Appends raw bytes from memory the caller owns (one `memcpy`).
    public mutating func appendRaw(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    /// A list: `u32` element count, then each element as `body` writes it.
    public mutating func encodeList<S: Collection>(_ elements: S, _ body: (inout WireEncoder, S.Element) -> Void) {
        encode(UInt32(elements.count))
        for element in elements { body(&self, element) }
    }

    /// A versioned struct: `struct_v`, `struct_compat`, a back-patched `u32` body length, then the body.
    ///
    /// A reader that knows an older `struct_v` reads the fields it knows and skips the
    /// rest using the length; a reader older than `struct_compat` refuses the data.
    public mutating func encodeVersionedStruct(version: UInt8, compat: UInt8, _ body: (inout WireEncoder) -> Void) {
        encode(version)
        encode(compat)
        let lengthOffset = bytes.count
        encode(UInt32(0))
        let bodyStart = bytes.count
        body(&self)
        let length = UInt32(bytes.count - bodyStart)
        withUnsafeBytes(of: length.littleEndian) { raw in
            for i in 0..<4 { bytes[lengthOffset + i] = raw[i] }
        }
    }

    /// Overwrites four bytes at `offset` with `value` (little-endian); used to back-patch lengths and checksums.
    public mutating func patch(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<4 { bytes[offset + i] = raw[i] }
        }
    }

    /// Hands the bytes over, leaving the encoder empty.
    public mutating func finish() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }

    @inline(__always)
    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
