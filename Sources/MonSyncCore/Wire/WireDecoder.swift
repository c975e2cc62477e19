/// Reads values written by ``WireEncoder`` from a slice of bytes, with every read bounds-checked.
///
/// Reads never trap and never allocate more than the input could hold: a length
/// is checked against the remaining bytes (and the decoder's limit) before any
/// allocation. Byte blobs come back as slices that share the input's storage, so
/// a 1 MiB chunk is not copied on its way to a handler.
public struct WireDecoder: Sendable {
    /// The bytes being decoded. Indices are those of the original array.
    public let input: ArraySlice<UInt8>
    /// The index of the next byte to read.
    public private(set) var position: Int
    /// The end of the region this decoder may read (narrowed inside versioned structs).
    public private(set) var limit: Int

    /// Creates a decoder over `input`.
    public init(_ input: ArraySlice<UInt8>) {
        self.input = input
        position = input.startIndex
        limit = input.endIndex
    }

    /// Creates a decoder over a whole array.
    public init(_ input: [UInt8]) { self.init(input[...]) }

    /// Bytes left in the current region.
    @inlinable public var remaining: Int { limit - position }

    /// Offset of the next byte from the start of the input, for error messages.
    public var offset: Int { position - input.startIndex }

    @inline(__always)
    private mutating func need(_ count: Int) throws(DecodeError) {
        if count > remaining { throw .truncated(needed: count - remaining, offset: offset) }
    }

    @inline(__always)
    private mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        var value: T = 0
        input.withUnsafeBytes { raw in
            let start = position - input.startIndex
            withUnsafeMutableBytes(of: &value) { out in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<start + size]))
            }
        }
        position += size
        return T(littleEndian: value)
    }

    /// Reads one byte.
    ///
    /// - Throws: ``DecodeError/truncated(needed:offset:)`` when no byte is left.
    public mutating func decodeUInt8() throws(DecodeError) -> UInt8 {
        try need(1)
        defer { position += 1 }
        return input[position]
    }

    /// Reads a one-byte boolean, which must be 0 or 1.
    ///
    /// - Parameter field: the field's name, for the error.
    /// - Throws: ``DecodeError/invalidField(name:value:)`` for any other byte, or a truncation error.
    public mutating func decodeBool(field: String) throws(DecodeError) -> Bool {
        switch try decodeUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw .invalidField(name: field, value: UInt64(other))
        }
    }

    /// Reads a little-endian `u16`.
    public mutating func decodeUInt16() throws(DecodeError) -> UInt16 { try readLittleEndian(UInt16.self) }
    /// Reads a little-endian `u32`.
    public mutating func decodeUInt32() throws(DecodeError) -> UInt32 { try readLittleEndian(UInt32.self) }
    /// Reads a little-endian `u64`.
    public mutating func decodeUInt64() throws(DecodeError) -> UInt64 { try readLittleEndian(UInt64.self) }
    /// Reads a little-endian, two's-complement `s32`.
    public mutating func decodeInt32() throws(DecodeError) -> Int32 { Int32(bitPattern: try decodeUInt32()) }
    /// Reads a little-endian, two's-complement `s64`.
    public mutating func decodeInt64() throws(DecodeError) -> Int64 { Int64(bitPattern: try decodeUInt64()) }

    /// Reads a `u32` length and checks it against the remaining bytes before anything is allocated.
    private mutating func decodeLength(field: String) throws(DecodeError) -> Int {
        let length = Int(try decodeUInt32())
        try need(length)
        return length
    }

    /// A `u32`-length-prefixed byte blob, as a slice sharing the input's storage (no copy).
    public mutating func decodeBlob(field: String) throws(DecodeError) -> ArraySlice<UInt8> {
        let length = try decodeLength(field: field)
        defer { position += length }
        return input[position..<position + length]
    }

    /// `count` raw bytes with no length prefix, sharing the input's storage.
    public mutating func decodeRaw(count: Int) throws(DecodeError) -> ArraySlice<UInt8> {
        try need(count)
        defer { position += count }
        return input[position..<position + count]
    }

    /// A `u32`-length-prefixed UTF-8 string; invalid UTF-8 is refused rather than repaired.
    public mutating func decodeString(field: String) throws(DecodeError) -> String {
        let bytes = try decodeBlob(field: field)
        guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return string
    }

    /// A list: `u32` count, then each element as `element` reads it.
    ///
    /// The count is checked against the remaining bytes (every element takes at
    /// least `minimumElementSize` bytes) before any storage is reserved, so a
    /// hostile count cannot make the decoder allocate.
    public mutating func decodeList<T>(
        field: String,
        minimumElementSize: Int = 1,
        _ element: (inout WireDecoder) throws(DecodeError) -> T
    ) throws(DecodeError) -> [T] {
        let count = Int(try decodeUInt32())
        let (needed, overflow) = count.multipliedReportingOverflow(by: max(1, minimumElementSize))
        if overflow || needed > remaining {
            throw .lengthOverLimit(what: "\(field) list", length: UInt64(count), limit: remaining / max(1, minimumElementSize))
        }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try element(&self)) }
        return result
    }

    /// Reads a versioned struct written by ``WireEncoder/encodeVersionedStruct(version:compat:_:)``.
    ///
    /// `body` receives the sender's `struct_v` and reads the fields it knows for
    /// that version; whatever it leaves unread (fields added by a newer version)
    /// is skipped. Data whose `struct_compat` is newer than `supportedVersion` is
    /// refused with ``DecodeError/unsupportedVersion(what:compat:supported:)``.
    public mutating func decodeVersionedStruct<T>(
        _ what: String,
        supportedVersion: UInt8,
        _ body: (inout WireDecoder, _ version: UInt8) throws(DecodeError) -> T
    ) throws(DecodeError) -> T {
        let version = try decodeUInt8()
        let compat = try decodeUInt8()
        if compat > supportedVersion {
            throw .unsupportedVersion(what: what, compat: compat, supported: supportedVersion)
        }
        let length = try decodeLength(field: what)
        let end = position + length
        let outerLimit = limit
        limit = end
        let value = try body(&self, version)
        if version <= supportedVersion && position != end {
            // Same or older version: the body knows every field, so a mismatch is corruption.
            throw .structLengthMismatch(what: what, declared: length, consumed: position - (end - length))
        }
        position = end
        limit = outerLimit
        return value
    }

    /// Throws unless every byte of the current region has been read.
    public func expectEnd() throws(DecodeError) {
        if remaining != 0 { throw .trailingBytes(count: remaining) }
    }
}
