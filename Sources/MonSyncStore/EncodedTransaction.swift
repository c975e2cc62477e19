import MonSyncCore

/// One operation of an encoded ``StoreTransaction``, seen in place: the three
/// fields point into the encoded bytes and are valid only during the visit.
public struct EncodedOperation {
    /// Put, erase or erase-prefix.
    public let type: StoreTransaction.OperationType
    /// The prefix's UTF-8 bytes (never empty, no NUL).
    public let prefix: UnsafeRawBufferPointer
    /// The key's UTF-8 bytes (empty for an erase-prefix).
    public let key: UnsafeRawBufferPointer
    /// The value (empty unless a put).
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
public struct EncodedTransaction: Sendable {
    /// The encoding, as received.
    public let bytes: ArraySlice<UInt8>
    private let operations: [StoreTransaction.OperationLocation]

    /// Validates `bytes` as one encoded transaction (trailing bytes are an error).
    /// - Throws: ``StoreError/corrupt(_:)`` with the decoder's precise reason.
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
        // The common case (this version's encoding, valid) in one pass over raw memory; anything
        // else — older or newer struct versions, any error — takes the decoder's path, which
        // accepts at least what the fast one does and names the error precisely.
        if let operations = bytes.withUnsafeBytes({ quickLocate($0, base: bytes.startIndex) }) { return operations }
        return try decodeLocations(in: bytes)
    }

    /// The fast path of ``locateOperations(in:)``: `nil` when the bytes are not a valid
    /// version-1 transaction made only of version-1 operations.
    private static func quickLocate(_ raw: UnsafeRawBufferPointer, base: Int) -> [OperationLocation]? {
        let end = raw.count
        var at = 0
        func u8() -> UInt8? {
            guard at < end else { return nil }
            defer { at += 1 }
            return raw[at]
        }
        func u32() -> Int? {
            guard end - at >= 4 else { return nil }
            defer { at += 4 }
            return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        /// A length-prefixed field's range (relative to the slice), if it fits before `limit`.
        func blob(before limit: Int) -> Range<Int>? {
            guard let length = u32(), length <= limit - at else { return nil }
            defer { at += length }
            return at..<(at + length)
        }
        func isASCII(_ range: Range<Int>) -> Bool {
            var index = range.lowerBound
            while index < range.upperBound {
                if raw[index] >= 0x80 { return false }
                index += 1
            }
            return true
        }
        guard u8() == encodingVersion, u8() == encodingCompat, let length = u32(), length == end - at,
              let count = u32() else { return nil }
        let minimum = encodedSize(prefixCount: 0, keyCount: 0, valueCount: 0)
        guard count <= (end - at) / minimum else { return nil }
        var operations: [OperationLocation] = []
        operations.reserveCapacity(count)
        for _ in 0..<count {
            guard u8() == 1, u8() == 1, let opLength = u32(), opLength <= end - at else { return nil }
            let opEnd = at + opLength
            guard let code = u8(), let type = OperationType(rawValue: code),
                  let prefix = blob(before: opEnd), let key = blob(before: opEnd), let value = blob(before: opEnd),
                  at == opEnd, !prefix.isEmpty, isASCII(prefix), isASCII(key),
                  !raw[prefix].contains(0) else { return nil }
            switch type {
            case .put: break
            case .erase: guard value.isEmpty else { return nil }
            case .erasePrefix: guard key.isEmpty, value.isEmpty else { return nil }
            }
            operations.append(OperationLocation(type: type, prefix: (prefix.lowerBound + base)..<(prefix.upperBound + base),
                                                key: (key.lowerBound + base)..<(key.upperBound + base),
                                                value: (value.lowerBound + base)..<(value.upperBound + base)))
        }
        return at == end ? operations : nil
    }

    private static func decodeLocations(in bytes: ArraySlice<UInt8>) throws(StoreError) -> [OperationLocation] {
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
