import MonSyncCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The frames the checks send: complete, valid ``Frame``s of a type no codec registers,
/// carrying a sender tag and a sequence number, so the receiver can tell who sent what in which order.
///
/// They are real frames because a stream transport cuts its byte stream with
/// ``FrameStreamDecoder`` and may refuse bytes that are not one.
enum ProbeFrame {
    /// A message type outside the range the protocol uses.
    static let type = MessageType(0x7E57)
    /// Tag and sequence.
    static let headerSize = 16

    /// A probe frame whose payload is the tag, the sequence number and `padding` filler bytes.
    static func make(tag: UInt64, sequence: UInt64, padding: Int = 0) -> [UInt8] {
        Frame.encode(type: type, version: 1, compatVersion: 1, payloadCapacity: headerSize + padding) { encoder in
            encoder.encode(tag)
            encoder.encode(sequence)
            if padding > 0 {
                encoder.appendRaw([UInt8](repeating: UInt8(truncatingIfNeeded: sequence &* 31 &+ tag), count: padding))
            }
        }
    }

    /// A probe frame of exactly `size` bytes (at least ``Frame/overhead`` + ``headerSize``), with a
    /// position stamp every 4 KiB so that lost, repeated or swapped blocks change the bytes.
    static func huge(size: Int, tag: UInt64) -> [UInt8] {
        let payloadSize = max(headerSize, size - Frame.overhead)
        var filler = [UInt8](repeating: 0x5A, count: payloadSize - headerSize)
        var offset = 0
        var block: UInt32 = 0
        while offset < filler.count {
            filler[offset] = UInt8(truncatingIfNeeded: block)
            if offset + 1 < filler.count { filler[offset + 1] = UInt8(truncatingIfNeeded: block >> 8) }
            block &+= 1
            offset += 4096
        }
        return Frame.encode(type: type, version: 1, compatVersion: 1, payloadCapacity: payloadSize) { encoder in
            encoder.encode(tag)
            encoder.encode(UInt64(size))
            encoder.appendRaw(filler)
        }
    }

    /// The tag and sequence number of a probe frame, or `nil` if `bytes` is not one.
    static func parse(_ bytes: [UInt8]) -> (tag: UInt64, sequence: UInt64)? {
        guard let (header, payload) = try? Frame.decode(bytes[...], maximumPayloadSize: Int(UInt32.max)),
              header.type == type else { return nil }
        var decoder = WireDecoder(payload)
        guard let tag = try? decoder.decodeUInt64(), let sequence = try? decoder.decodeUInt64() else { return nil }
        return (tag, sequence)
    }

    /// Describes a received message briefly, for failure messages.
    static func describe(_ bytes: [UInt8]) -> String {
        if let (tag, sequence) = parse(bytes) { return "probe(tag \(tag), sequence \(sequence), \(bytes.count) bytes)" }
        return "\(bytes.count) bytes that are not a probe frame"
    }
}

/// Whether two byte arrays are equal; `memcmp` keeps a 64 MiB comparison fast in debug builds.
func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { pa in
        b.withUnsafeBytes { pb in
            guard let x = pa.baseAddress, let y = pb.baseAddress else { return true }
            return memcmp(x, y, pa.count) == 0
        }
    }
}

/// Where two byte arrays first differ, for failure messages.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
    if a.count != b.count { return "\(b.count) bytes where \(a.count) were sent" }
    let index = a.indices.first { a[$0] != b[$0] } ?? 0
    return "byte \(index) is 0x\(String(b[index], radix: 16)) where 0x\(String(a[index], radix: 16)) was sent"
}
