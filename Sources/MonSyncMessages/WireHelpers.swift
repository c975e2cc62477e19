package import MonSyncCore

/// Encoding helpers shared by the monitor's messages.
extension WireEncoder {
    /// A list of ranks: `u32` count, then each rank as `i32`.
    package mutating func encodeRanks(_ ranks: [Int32]) {
        encodeList(ranks) { $0.encode($1) }
    }
}

extension WireDecoder {
    /// A list of distinct, non-negative ranks, sorted; at most `limit` of them.
    package mutating func decodeRanks(field: String, limit: Int = MonitorEntity.maximumMembers) throws(DecodeError) -> [Int32] {
        let ranks = try decodeList(field: field, minimumElementSize: 4) {
            (d: inout WireDecoder) throws(DecodeError) -> Int32 in
            let rank = try d.decodeInt32()
            if rank < 0 { throw .invalidField(name: field, value: UInt64(UInt32(bitPattern: rank))) }
            return rank
        }
        if ranks.count > limit { throw .lengthOverLimit(what: field, length: UInt64(ranks.count), limit: limit) }
        if Set(ranks).count != ranks.count { throw .invalidField(name: "\(field) (duplicate rank)", value: UInt64(ranks.count)) }
        return ranks.sorted()
    }

    /// A rank that may be -1 ("none").
    package mutating func decodeOptionalRank(field: String) throws(DecodeError) -> Int32? {
        let rank = try decodeInt32()
        if rank < -1 { throw .invalidField(name: field, value: UInt64(UInt32(bitPattern: rank))) }
        return rank == -1 ? nil : rank
    }

    /// A rank that must be present (≥ 0).
    package mutating func decodeRank(field: String) throws(DecodeError) -> Int32 {
        let rank = try decodeInt32()
        if rank < 0 { throw .invalidField(name: field, value: UInt64(UInt32(bitPattern: rank))) }
        return rank
    }

    /// A `(first_committed, last_committed)` pair, checked for consistency
    /// (`fc ≤ lc`, and `fc ≥ 1` once anything is committed).
    package mutating func decodePaxosBounds() throws(DecodeError) -> (first: UInt64, last: UInt64) {
        let first = try decodeUInt64()
        let last = try decodeUInt64()
        try Self.checkBounds(first: first, last: last)
        return (first, last)
    }

    /// The largest Paxos version or proposal number accepted: far beyond any real
    /// cluster, and low enough that `+ 1` and the proposal-number arithmetic never overflow.
    package static let maximumPaxosNumber = UInt64.max / 4

    package static func checkBounds(first: UInt64, last: UInt64) throws(DecodeError) {
        if last > maximumPaxosNumber { throw .invalidField(name: "last_committed (out of range)", value: last) }
        if first > last { throw .invalidField(name: "first_committed (above last_committed)", value: first) }
        if last > 0 && first == 0 { throw .invalidField(name: "first_committed (0 with versions committed)", value: first) }
    }
}
