public import MonSyncCore

/// Names a monitor independently of the transport: its rank, its name and its endpoint URL.
///
/// Ceph's `entity_inst_t` carries a raw `sockaddr`; ours carries the URL of the
/// endpoint (`tcp://127.0.0.1:7001`, `loopback://b`, …) so the same message
/// travels over any transport.
///
/// Wire form: a versioned struct (v1, compat 1) of `rank` (i32, -1 when not a
/// monitor), `name` (string) and `address` (string).
public struct MonitorEntity: Hashable, Sendable, CustomStringConvertible {
    /// The monitor's rank in the monmap, or -1 for an entity that is not a ranked monitor.
    public var rank: Int32
    /// The monitor's name (`a`, `b`, …).
    public var name: String
    /// The URL of the monitor's transport endpoint.
    public var address: String

    /// An entity; a ranked monitor's `rank` is its place in the monmap.
    public init(rank: Int32, name: String, address: String) {
        self.rank = rank
        self.name = name
        self.address = address
    }

    /// The entity that stands for "nobody": rank -1, empty name and address.
    public static let none = MonitorEntity(rank: -1, name: "", address: "")

    public var description: String { rank >= 0 ? "mon.\(name)(\(rank))@\(address)" : "\(name)@\(address)" }

    static let structVersion: UInt8 = 1

    /// The most monitors a cluster (and any list of ranks on the wire) may have.
    public static let maximumMembers = 64

    /// Writes the entity as a versioned struct.
    public func encode(into encoder: inout WireEncoder) {
        encoder.encodeVersionedStruct(version: Self.structVersion, compat: 1) { e in
            e.encode(rank)
            e.encode(name)
            e.encode(address)
        }
    }

    /// Reads an entity written by ``encode(into:)`` (or a newer version of it).
    public init(from decoder: inout WireDecoder) throws(DecodeError) {
        self = try decoder.decodeVersionedStruct("entity", supportedVersion: Self.structVersion) {
            (d: inout WireDecoder, _: UInt8) throws(DecodeError) -> MonitorEntity in
            let rank = try d.decodeInt32()
            if rank < -1 { throw .invalidField(name: "entity.rank", value: UInt64(UInt32(bitPattern: rank))) }
            return MonitorEntity(rank: rank, name: try d.decodeString(field: "entity.name"),
                                 address: try d.decodeString(field: "entity.address"))
        }
    }

    /// The smallest encoded size (for bounding list counts before allocating).
    static let minimumEncodedSize = 1 + 1 + 4 + 4 + 4 + 4
}
