public import MonSyncCore
public import MonSyncMessages

/// The cluster's membership: every monitor's rank, name and endpoint URL (Ceph's `MonMap`).
///
/// Ranks are `0..<count` in the order the members were given; names and
/// addresses are unique. A monitor learns the map from its configuration; the
/// encoded form (a version-1 struct: `epoch` u32, then a list of
/// `MonitorEntity`) is what a store keeps under the protected prefix and
/// what a future `MMonJoin` would carry.
public struct MonMap: Sendable, Hashable, CustomStringConvertible {
    /// The largest map this implementation accepts (a bound for decoding).
    public static let maximumMembers = MonitorEntity.maximumMembers
    static let structVersion: UInt8 = 1

    /// Incremented whenever the membership changes (always 1 for a map from configuration).
    public let epoch: UInt32
    /// The members, indexed by rank.
    public let members: [MonitorEntity]

    /// A validated map.
    ///
    /// - Parameters:
    ///   - epoch: the map's epoch.
    ///   - members: the monitors; `members[i].rank` must be `i`.
    /// - Throws: ``MonMapError`` when the map is empty, too large, has a rank out
    ///   of place, or repeats a name or an address, or an address is not a URL.
    public init(epoch: UInt32 = 1, members: [MonitorEntity]) throws(MonMapError) {
        guard !members.isEmpty else { throw .empty }
        guard members.count <= Self.maximumMembers else { throw .tooManyMembers(members.count) }
        var names = Set<String>()
        var addresses = Set<TransportAddress>()
        for (index, member) in members.enumerated() {
            guard member.rank == Int32(index) else { throw .rankOutOfPlace(name: member.name, rank: member.rank, expected: Int32(index)) }
            guard !member.name.isEmpty else { throw .emptyName(rank: member.rank) }
            guard names.insert(member.name).inserted else { throw .duplicateName(member.name) }
            let address: TransportAddress
            do { address = try TransportAddress(member.address) } catch { throw .invalidAddress(member.address, reason: "\(error)") }
            guard addresses.insert(address).inserted else { throw .duplicateAddress(member.address) }
        }
        self.epoch = epoch
        self.members = members
    }

    /// A map whose ranks follow the order of `members` (`(name, address)` pairs).
    public init(epoch: UInt32 = 1, named members: [(name: String, address: String)]) throws(MonMapError) {
        try self.init(epoch: epoch, members: members.enumerated().map { index, member in
            MonitorEntity(rank: Int32(index), name: member.name, address: member.address)
        })
    }

    /// Parses `name=url,name=url,…` (ranks in order), as a command line gives it.
    public init(parsing text: String) throws(MonMapError) {
        var pairs: [(name: String, address: String)] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            guard let equals = item.firstIndex(of: "=") else { throw .malformed(String(item)) }
            pairs.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
        }
        try self.init(named: pairs)
    }

    /// The number of monitors.
    public var count: Int { members.count }

    /// How many monitors make a quorum: a strict majority of the map.
    public var majority: Int { members.count / 2 + 1 }

    /// Every rank, ascending.
    public var ranks: [Int32] { members.map(\.rank) }

    /// The member of rank `rank`, if any.
    public func member(rank: Int32) -> MonitorEntity? {
        rank >= 0 && Int(rank) < members.count ? members[Int(rank)] : nil
    }

    /// The member named `name`, if any.
    public func member(named name: String) -> MonitorEntity? { members.first { $0.name == name } }

    /// The rank of the monitor listening on `address`, if it is a member.
    public func rank(of address: TransportAddress) -> Int32? {
        members.first { (try? TransportAddress($0.address)) == address }?.rank
    }

    /// The transport address of rank `rank`.
    public func address(of rank: Int32) -> TransportAddress? {
        member(rank: rank).flatMap { try? TransportAddress($0.address) }
    }

    // MARK: Encoding

    /// Writes the map as a versioned struct.
    public func encode(into encoder: inout WireEncoder) {
        encoder.encodeVersionedStruct(version: Self.structVersion, compat: 1) { body in
            body.encode(epoch)
            body.encodeList(members) { e, member in member.encode(into: &e) }
        }
    }

    /// The encoded bytes of the map.
    public func encoded() -> [UInt8] {
        var encoder = WireEncoder()
        encode(into: &encoder)
        return encoder.finish()
    }

    /// Reads a map written by ``encode(into:)``, validating it as ``init(epoch:members:)`` does.
    public init(from decoder: inout WireDecoder) throws(DecodeError) {
        let (epoch, members) = try decoder.decodeVersionedStruct("monmap", supportedVersion: Self.structVersion) {
            (d: inout WireDecoder, _: UInt8) throws(DecodeError) -> (UInt32, [MonitorEntity]) in
            let epoch = try d.decodeUInt32()
            let members = try d.decodeList(field: "monmap members", minimumElementSize: 18) {
                (e: inout WireDecoder) throws(DecodeError) -> MonitorEntity in try MonitorEntity(from: &e)
            }
            return (epoch, members)
        }
        do {
            try self.init(epoch: epoch, members: members)
        } catch {
            throw .invalidField(name: "monmap (\(error))", value: UInt64(members.count))
        }
    }

    /// Decodes a whole byte string as one map.
    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var decoder = WireDecoder(bytes)
        try self.init(from: &decoder)
        try decoder.expectEnd()
    }

    public var description: String {
        "monmap e\(epoch): " + members.map { "\($0.rank):\($0.name)=\($0.address)" }.joined(separator: " ")
    }
}
