public import MonSyncCore

/// An atomic batch of store operations, in the order they apply.
///
/// A transaction travels: it is the value of a Paxos version (`paxos/<v>`) and
/// the body of a sync chunk, so it has a versioned binary encoding with the
/// codec's conventions (docs/STORE.md, "Transaction encoding", gives the bytes).
/// Values are `ArraySlice<UInt8>`, so a decoded transaction shares the storage
/// of the bytes it came from instead of copying every value.
public struct StoreTransaction: Sendable, Hashable {
    /// The encoding version this code writes.
    public static let encodingVersion: UInt8 = 1
    /// The oldest decoder version that can read what this code writes.
    public static let encodingCompat: UInt8 = 1

    /// One operation of a transaction.
    public enum Operation: Sendable, Hashable {
        /// Sets `(prefix, key)` to `value`.
        case put(prefix: String, key: String, value: ArraySlice<UInt8>)
        /// Removes `(prefix, key)`, if present.
        case erase(prefix: String, key: String)
        /// Removes every key of `prefix`.
        case erasePrefix(prefix: String)

        /// The wire code of the operation type.
        public var typeCode: UInt8 {
            switch self {
            case .put: OperationType.put.rawValue
            case .erase: OperationType.erase.rawValue
            case .erasePrefix: OperationType.erasePrefix.rawValue
            }
        }

        /// The key the operation touches; `nil` for ``erasePrefix(prefix:)``.
        public var key: String? {
            switch self {
            case let .put(_, key, _), let .erase(_, key): key
            case .erasePrefix: nil
            }
        }

        /// The prefix the operation touches.
        public var prefix: String {
            switch self {
            case let .put(prefix, _, _), let .erase(prefix, _), let .erasePrefix(prefix): prefix
            }
        }
    }

    /// The operation type codes on the wire.
    ///
    /// 1 and 2 are Ceph's `OP_PUT` and `OP_ERASE`. Ceph later gave 3 to
    /// `OP_COMPACT`; MonSync leaves 3 unused and gives prefix erasure 4, so no
    /// code ever meant two things.
    public enum OperationType: UInt8, Sendable, CaseIterable {
        /// Sets a key to a value.
        case put = 1
        /// Removes a key.
        case erase = 2
        /// Removes every key under a prefix.
        case erasePrefix = 4
    }

    /// The operations, in order.
    public private(set) var operations: [Operation]

    /// An empty transaction.
    public init() { operations = [] }

    /// A transaction made of `operations`.
    public init(_ operations: [Operation]) { self.operations = operations }

    /// Whether the transaction has no operations.
    public var isEmpty: Bool { operations.isEmpty }

    /// The number of operations.
    public var count: Int { operations.count }

    /// Appends a put of `value` at `(prefix, key)`.
    public mutating func put<C: Collection<UInt8>>(_ prefix: String, _ key: String, _ value: C) {
        operations.append(.put(prefix: prefix, key: key, value: ArraySlice(value)))
    }

    /// Appends a put of `value` as 8 little-endian bytes (Ceph's `encode(version_t)`).
    public mutating func put(_ prefix: String, _ key: String, uint64 value: UInt64) {
        put(prefix, key, withUnsafeBytes(of: value.littleEndian) { Array($0) })
    }

    /// Appends an erase of `(prefix, key)`.
    public mutating func erase(_ prefix: String, _ key: String) {
        operations.append(.erase(prefix: prefix, key: key))
    }

    /// Appends an erase of every key under `prefix`.
    public mutating func erasePrefix(_ prefix: String) {
        operations.append(.erasePrefix(prefix: prefix))
    }

    /// Appends every operation of `other` after this transaction's own.
    public mutating func append(_ other: StoreTransaction) {
        operations.append(contentsOf: other.operations)
    }

    /// Checks that every prefix is valid (non-empty, no NUL).
    public func validate() throws(StoreError) {
        for operation in operations { try StoreLayout.validatePrefix(operation.prefix) }
    }

    // MARK: Encoding

    /// Bytes an operation adds to an encoded transaction: its struct header,
    /// type, and three length-prefixed fields.
    static func encodedSize(prefixCount: Int, keyCount: Int, valueCount: Int) -> Int {
        6 + 1 + 4 + prefixCount + 4 + keyCount + 4 + valueCount
    }

    /// Bytes of an encoded empty transaction (struct header and the op count).
    static let encodedEmptySize = 6 + 4

    /// The encoded size of this transaction, without encoding it.
    public var encodedSize: Int {
        var size = Self.encodedEmptySize
        for operation in operations {
            switch operation {
            case let .put(prefix, key, value):
                size += Self.encodedSize(prefixCount: prefix.utf8.count, keyCount: key.utf8.count, valueCount: value.count)
            case let .erase(prefix, key):
                size += Self.encodedSize(prefixCount: prefix.utf8.count, keyCount: key.utf8.count, valueCount: 0)
            case let .erasePrefix(prefix):
                size += Self.encodedSize(prefixCount: prefix.utf8.count, keyCount: 0, valueCount: 0)
            }
        }
        return size
    }

    /// Writes the transaction into `encoder`.
    public func encode(into encoder: inout WireEncoder) {
        encoder.encodeVersionedStruct(version: Self.encodingVersion, compat: Self.encodingCompat) { body in
            body.encodeList(operations) { out, operation in
                out.encodeVersionedStruct(version: 1, compat: 1) { op in
                    op.encode(operation.typeCode)
                    switch operation {
                    case let .put(prefix, key, value):
                        op.encode(prefix)
                        op.encode(key)
                        op.encodeBlob(value)
                    case let .erase(prefix, key):
                        op.encode(prefix)
                        op.encode(key)
                        op.encodeBlob(EmptyCollection<UInt8>())
                    case let .erasePrefix(prefix):
                        op.encode(prefix)
                        op.encode("")
                        op.encodeBlob(EmptyCollection<UInt8>())
                    }
                }
            }
        }
    }

    /// The encoded bytes of the transaction.
    public func encoded() -> [UInt8] {
        var encoder = WireEncoder(reservingCapacity: encodedSize)
        encode(into: &encoder)
        return encoder.finish()
    }

    /// Reads a transaction from `decoder`.
    ///
    /// Every field is validated: an unknown operation type, an invalid prefix, an
    /// erase carrying a key or value it must not have, a truncated or
    /// inconsistent struct all throw ``StoreError/corrupt(_:)`` with the
    /// decoder's precise reason. Values are slices of the decoder's input.
    public static func decode(from decoder: inout WireDecoder) throws(StoreError) -> StoreTransaction {
        do {
            return try decoder.decodeVersionedStruct("store transaction", supportedVersion: encodingVersion) {
                (body: inout WireDecoder, _: UInt8) throws(DecodeError) -> StoreTransaction in
                let operations = try body.decodeList(field: "transaction ops", minimumElementSize: encodedSize(prefixCount: 0, keyCount: 0, valueCount: 0)) {
                    (element: inout WireDecoder) throws(DecodeError) -> Operation in
                    try element.decodeVersionedStruct("store transaction op", supportedVersion: 1) {
                        (op: inout WireDecoder, _: UInt8) throws(DecodeError) -> Operation in
                        let type = try op.decodeUInt8()
                        let prefix = try op.decodeString(field: "op prefix")
                        let key = try op.decodeString(field: "op key")
                        let value = try op.decodeBlob(field: "op value")
                        if prefix.isEmpty || prefix.utf8.contains(0) {
                            throw .invalidField(name: "op prefix", value: UInt64(prefix.utf8.count))
                        }
                        switch OperationType(rawValue: type) {
                        case .put:
                            return .put(prefix: prefix, key: key, value: value)
                        case .erase:
                            guard value.isEmpty else { throw .invalidField(name: "erase op value length", value: UInt64(value.count)) }
                            return .erase(prefix: prefix, key: key)
                        case .erasePrefix:
                            guard key.isEmpty else { throw .invalidField(name: "erase-prefix op key length", value: UInt64(key.utf8.count)) }
                            guard value.isEmpty else { throw .invalidField(name: "erase-prefix op value length", value: UInt64(value.count)) }
                            return .erasePrefix(prefix: prefix)
                        case nil:
                            throw .invalidField(name: "op type", value: UInt64(type))
                        }
                    }
                }
                return StoreTransaction(operations)
            }
        } catch {
            throw .corrupt(error)
        }
    }

    /// Decodes a whole byte string as one transaction; trailing bytes are an error.
    public init(decoding bytes: ArraySlice<UInt8>) throws(StoreError) {
        var decoder = WireDecoder(bytes)
        self = try Self.decode(from: &decoder)
        do { try decoder.expectEnd() } catch { throw .corrupt(error) }
    }

    /// Decodes a whole byte array as one transaction; trailing bytes are an error.
    public init(decoding bytes: [UInt8]) throws(StoreError) {
        try self.init(decoding: bytes[...])
    }
}
