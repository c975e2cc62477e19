/// The URL of a transport endpoint, whose scheme picks the transport.
///
/// `loopback://a`, `tcp://127.0.0.1:7001`, `ipc:///run/monsync/a.sock`,
/// `inproc://a`. The address is also a node's identity on the wire
/// (a monitor entity's address), so it is kept in one canonical spelling:
/// the scheme is lower-cased and nothing else is rewritten.
public struct TransportAddress: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The lower-cased scheme (`tcp`, `loopback`, …).
    public let scheme: String
    /// Everything after `scheme://`.
    public let location: String

    /// Parses `string`; throws ``TransportError/invalidAddress(_:reason:)`` unless it is `scheme://location`.
    public init(_ string: String) throws(TransportError) {
        let utf8 = Array(string.utf8)
        let separator = Array("://".utf8)
        guard let split = utf8.indices.first(where: { utf8[$0...].starts(with: separator) }) else {
            throw .invalidAddress(string, reason: "expected scheme://location, e.g. tcp://127.0.0.1:7001 or loopback://a")
        }
        let schemeBytes = utf8[..<split]
        let location = String(decoding: utf8[(split + separator.count)...], as: UTF8.self)
        func isSchemeByte(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2B || byte == 0x2D || byte == 0x2E
        }
        guard let first = schemeBytes.first, (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A,
              schemeBytes.allSatisfy(isSchemeByte)
        else { throw .invalidAddress(string, reason: "the scheme must start with a letter and hold only letters, digits, '+', '-' or '.'") }
        let scheme = String(decoding: schemeBytes, as: UTF8.self).lowercased()
        guard !location.isEmpty else { throw .invalidAddress(string, reason: "nothing after \(scheme)://") }
        guard location.utf8.count <= 240 else {
            // Addresses double as ZeroMQ routing ids, which are at most 255 bytes.
            throw .invalidAddress(string, reason: "longer than 240 bytes")
        }
        self.scheme = scheme
        self.location = location
    }

    /// For literals in code and tests; traps on a malformed literal (a programming error).
    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure("invalid transport address literal \(value): \(error)") }
    }

    public var description: String { "\(scheme)://\(location)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }
}
