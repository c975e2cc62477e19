import MonSyncCore

/// One operation of an encoded ``StoreTransaction``, seen in place: the three
/// fields point into the encoded bytes and are valid only during the visit.
public struct EncodedOperation {
    public let type: StoreTransaction.OperationType
    public let prefix: UnsafeRawBufferPointer
    public let key: UnsafeRawBufferPointer
    public let value: UnsafeRawBufferPointer
}

/// An encoded ``StoreTransaction`` whose operations can be walked in place,
/// without building the transaction: no `String` per key, no array per
/// operation.
///
/// The sync's hot path (a requester staging a chunk of 10 000 small values)
/// spends most of its time materialising keys otherwise. `init` validates the
/// bytes exactly as ``StoreTransaction/decode(from:)`` does — structure,
/// lengths, operation types, UTF-8 prefixes and keys — so a corrupt chunk is
/// refused before anything is visited.
public struct EncodedTransaction {
    public let bytes: ArraySlice<UInt8>
    private let operations: [StoreTransaction.OperationLocation]

    public init(_ bytes: ArraySlice<UInt8>) throws(StoreError) {
        self.bytes = bytes
        operations = try StoreTransaction.locateOperations(in: bytes)
    }

    /// The number of operations.
    public var count: Int { operations.count }

    /// Visits every operation in order; the views are valid only during the call.
    public func forEach(_ visit: (EncodedOperation) throws(StoreError) -> Void) throws(StoreError) {
        try withBytes(bytes) { (raw: UnsafeRawBufferPointer) throws(StoreError) in
            let base = bytes.startIndex
            func view(_ range: Range<Int>) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: raw[(range.lowerBound - base)..<(range.upperBound - base)])
            }
            for operation in operations {
                try visit(EncodedOperation(type: operation.type, prefix: view(operation.prefix), key: view(operation.key),
                                           value: view(operation.value)))
            }
        }
    }
}

extension EncodedOperation {
    /// The operation as a ``StoreTransaction/Operation`` (copies its fields).
    public var materialized: StoreTransaction.Operation {
        let prefix = String(decoding: prefix, as: UTF8.self)
        let key = String(decoding: key, as: UTF8.self)
        switch type {
        case .put: return .put(prefix: prefix, key: key, value: ArraySlice(value))
        case .erase: return .erase(prefix: prefix, key: key)
        case .erasePrefix: return .erasePrefix(prefix: prefix)
        }
    }
}

extension StoreTransaction {
    /// Where one operation's fields are in the encoded bytes (indices of the slice).
    struct OperationLocation {
        var type: OperationType
        var prefix: Range<Int>
        var key: Range<Int>
        var value: Range<Int>
    }

    static func locateOperations(in bytes: ArraySlice<UInt8>) throws(StoreError) -> [OperationLocation] {
        var decoder = WireDecoder(bytes)
        do {
            let operations = try decoder.decodeVersionedStruct("store transaction", supportedVersion: encodingVersion) {
                (body: inout WireDecoder, _: UInt8) throws(DecodeError) -> [OperationLocation] in
                try body.decodeList(field: "transaction ops", minimumElementSize: encodedSize(prefixCount: 0, keyCount: 0, valueCount: 0)) {
                    (element: inout WireDecoder) throws(DecodeError) -> OperationLocation in
                    try element.decodeVersionedStruct("store transaction op", supportedVersion: 1) {
                        (op: inout WireDecoder, _: UInt8) throws(DecodeError) -> OperationLocation in
                        let type = try op.decodeUInt8()
                        let prefix = try op.decodeBlob(field: "op prefix")
                        try requireUTF8(prefix, field: "op prefix")
                        let key = try op.decodeBlob(field: "op key")
                        try requireUTF8(key, field: "op key")
                        let value = try op.decodeBlob(field: "op value")
                        if prefix.isEmpty || prefix.contains(0) {
                            throw .invalidField(name: "op prefix", value: UInt64(prefix.count))
                        }
                        switch OperationType(rawValue: type) {
                        case .put:
                            break
                        case .erase:
                            guard value.isEmpty else { throw .invalidField(name: "erase op value length", value: UInt64(value.count)) }
                        case .erasePrefix:
                            guard key.isEmpty else { throw .invalidField(name: "erase-prefix op key length", value: UInt64(key.count)) }
                            guard value.isEmpty else { throw .invalidField(name: "erase-prefix op value length", value: UInt64(value.count)) }
                        case nil:
                            throw .invalidField(name: "op type", value: UInt64(type))
                        }
                        return OperationLocation(type: OperationType(rawValue: type)!, prefix: prefix.indices,
                                                 key: key.indices, value: value.indices)
                    }
                }
            }
            try decoder.expectEnd()
            return operations
        } catch {
            throw .corrupt(error)
        }
    }

    /// The same check as `WireDecoder.decodeString`, with a fast path for ASCII (every key a monitor writes).
    private static func requireUTF8(_ bytes: ArraySlice<UInt8>, field: String) throws(DecodeError) {
        let ascii = bytes.withUnsafeBytes { raw in raw.allSatisfy { $0 < 0x80 } }
        if !ascii, String(validating: bytes, as: UTF8.self) == nil { throw .invalidUTF8(field: field) }
    }
}
