/// Why a byte string could not be decoded into a frame or a message.
///
/// Every failure of the decoder is one of these cases; the decoder never traps,
/// whatever the input. Each case names the problem precisely enough to log it
/// beside the sender and count it.
public enum DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The input ended before `needed` more bytes could be read at `offset`.
    case truncated(needed: Int, offset: Int)
    /// The frame did not start with ``Frame/magic``.
    case badMagic(UInt32)
    /// The payload's CRC32C did not match the one carried by the frame.
    case crcMismatch(expected: UInt32, actual: UInt32)
    /// The header's CRC32C did not match its first 12 bytes.
    case headerCRCMismatch(expected: UInt32, actual: UInt32)
    /// No decoder is registered for this message type.
    case unknownMessageType(MessageType)
    /// The data needs a decoder of at least `compat`; this one understands up to `supported`.
    case unsupportedVersion(what: String, compat: UInt8, supported: UInt8)
    /// A length field announced more than the configured limit allows.
    case lengthOverLimit(what: String, length: UInt64, limit: Int)
    /// A field held a value its type does not allow (an unknown op, a flag not valid for the op, …).
    case invalidField(name: String, value: UInt64)
    /// A flag combination is not allowed for this op.
    case invalidFlags(op: UInt32, flags: UInt8)
    /// A string field was not valid UTF-8.
    case invalidUTF8(field: String)
    /// Bytes were left over after a message whose version says nothing may follow.
    case trailingBytes(count: Int)
    /// A versioned struct's declared length disagrees with what its body used.
    case structLengthMismatch(what: String, declared: Int, consumed: Int)

    /// A short, stable name for the class of failure, used as a metrics dimension.
    public var kind: String {
        switch self {
        case .truncated: "truncated"
        case .badMagic: "bad_magic"
        case .crcMismatch: "crc_mismatch"
        case .headerCRCMismatch: "header_crc_mismatch"
        case .unknownMessageType: "unknown_type"
        case .unsupportedVersion: "unsupported_version"
        case .lengthOverLimit: "length_over_limit"
        case .invalidField: "invalid_field"
        case .invalidFlags: "invalid_flags"
        case .invalidUTF8: "invalid_utf8"
        case .trailingBytes: "trailing_bytes"
        case .structLengthMismatch: "struct_length_mismatch"
        }
    }

    public var description: String {
        switch self {
        case let .truncated(needed, offset):
            "truncated: needed \(needed) more byte(s) at offset \(offset)"
        case let .badMagic(value):
            "bad magic 0x\(String(value, radix: 16)) (expected 0x\(String(Frame.magic, radix: 16)))"
        case let .crcMismatch(expected, actual):
            "payload CRC32C mismatch: frame says 0x\(String(expected, radix: 16)), payload has 0x\(String(actual, radix: 16))"
        case let .headerCRCMismatch(expected, actual):
            "header CRC32C mismatch: frame says 0x\(String(expected, radix: 16)), header has 0x\(String(actual, radix: 16))"
        case let .unknownMessageType(type):
            "unknown message type \(type.rawValue)"
        case let .unsupportedVersion(what, compat, supported):
            "\(what) needs a decoder of version \(compat) or later; this one supports up to \(supported)"
        case let .lengthOverLimit(what, length, limit):
            "\(what) length \(length) is over the limit of \(limit) bytes"
        case let .invalidField(name, value):
            "invalid value \(value) for field \(name)"
        case let .invalidFlags(op, flags):
            "flags 0x\(String(flags, radix: 16)) are not valid for op \(op)"
        case let .invalidUTF8(field):
            "field \(field) is not valid UTF-8"
        case let .trailingBytes(count):
            "\(count) unexpected trailing byte(s)"
        case let .structLengthMismatch(what, declared, consumed):
            "\(what) declares \(declared) body bytes but its fields used \(consumed)"
        }
    }
}
