/// The 16-bit message type carried in every frame; the codec's registry is keyed by it.
///
/// Values follow Ceph's `CEPH_MSG_*`/`MSG_*` numbering where a Ceph message exists
/// (``mmonSync`` is 69, as `MSG_MON_SYNC`), so a wire capture reads like Ceph's.
public struct MessageType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The message type numbered `rawValue` on the wire.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// `MMonSync`, Ceph's `MSG_MON_SYNC`.
    public static let mmonSync = MessageType(69)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(rawValue)" }
}
