public import MonSyncCore

/// What a monitor measures of itself for health checks: its store's size and the free space of the
/// filesystem under it (Ceph's `mon_data_avail_warn` / `_crit` checks), and how long its store sync
/// has gone without progress (a stalled sync).
///
/// Carried in ``MonitorStatus/vitals`` (status v3), in replies to a `status` command only.
///
/// Encoded as a versioned struct (v1, compat 1), every integer little-endian: `store_bytes` u64,
/// `filesystem_bytes` u64, `filesystem_available_bytes` u64 (each 0 when unknown: an in-memory
/// store has no filesystem), `sync_idle_ms` u64 (milliseconds since the running sync as requester
/// last advanced — a chunk applied, a phase entered; 0 when no sync runs).
public struct MonitorVitals: Sendable, Hashable {
    static let structVersion: UInt8 = 1

    /// Bytes the store's files take on disk (0 when unknown).
    public var storeBytes: UInt64
    /// The size of the filesystem that holds the store (0 when unknown).
    public var filesystemBytes: UInt64
    /// The bytes of that filesystem still available to the store's process.
    public var filesystemAvailableBytes: UInt64
    /// Milliseconds since the running sync last advanced; 0 when no sync runs.
    public var syncIdleMilliseconds: UInt64

    /// Vitals; every field 0 means "not known".
    public init(storeBytes: UInt64 = 0, filesystemBytes: UInt64 = 0, filesystemAvailableBytes: UInt64 = 0,
                syncIdleMilliseconds: UInt64 = 0) {
        self.storeBytes = storeBytes
        self.filesystemBytes = filesystemBytes
        self.filesystemAvailableBytes = filesystemAvailableBytes
        self.syncIdleMilliseconds = syncIdleMilliseconds
    }

    /// The share of the store's filesystem still available, 0…100; `nil` when the filesystem is unknown.
    public var availablePercent: Double? {
        guard filesystemBytes > 0 else { return nil }
        return min(100, Double(filesystemAvailableBytes) / Double(filesystemBytes) * 100)
    }

    /// Writes the section as a versioned struct.
    public func encode(into encoder: inout WireEncoder) {
        encoder.encodeVersionedStruct(version: Self.structVersion, compat: 1) { e in
            e.encode(storeBytes)
            e.encode(filesystemBytes)
            e.encode(filesystemAvailableBytes)
            e.encode(syncIdleMilliseconds)
        }
    }

    /// Reads a section written by ``encode(into:)``; a newer version's extra fields are skipped.
    ///
    /// - Throws: ``DecodeError`` for a truncated section, an incompatible version, or available
    ///   space above the filesystem's size.
    public init(from decoder: inout WireDecoder) throws(DecodeError) {
        self = try decoder.decodeVersionedStruct("vitals", supportedVersion: Self.structVersion) {
            (d: inout WireDecoder, _: UInt8) throws(DecodeError) -> MonitorVitals in
            let vitals = MonitorVitals(storeBytes: try d.decodeUInt64(), filesystemBytes: try d.decodeUInt64(),
                                       filesystemAvailableBytes: try d.decodeUInt64(),
                                       syncIdleMilliseconds: try d.decodeUInt64())
            if vitals.filesystemAvailableBytes > vitals.filesystemBytes {
                throw .invalidField(name: "vitals.filesystem_available_bytes", value: vitals.filesystemAvailableBytes)
            }
            return vitals
        }
    }
}
