import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A store's footprint on disk and the room left on its filesystem.
public struct StoreUsage: Sendable, Hashable {
    /// Bytes of the store's files (SST, WAL, manifest, …).
    public var storeBytes: UInt64
    /// The size of the filesystem holding the store.
    public var filesystemBytes: UInt64
    /// What is left on that filesystem for an unprivileged writer (`f_bavail`, as `df` shows it).
    public var filesystemAvailableBytes: UInt64

    public init(storeBytes: UInt64, filesystemBytes: UInt64, filesystemAvailableBytes: UInt64) {
        self.storeBytes = storeBytes
        self.filesystemBytes = filesystemBytes
        self.filesystemAvailableBytes = min(filesystemAvailableBytes, filesystemBytes)
    }

    /// Measures the directory at `path`: the sizes of the regular files under it, and `statvfs` of
    /// its filesystem. `nil` when the directory cannot be read.
    public static func measure(directory path: String) -> StoreUsage? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let fragment = UInt64(stats.f_frsize)
        var total: UInt64 = 0
        let url = URL(fileURLWithPath: path)
        guard let walk = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else {
            return nil
        }
        for case let file as URL in walk {
            // A file RocksDB deleted between the listing and this read simply counts as 0.
            guard let values = try? file.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]),
                  values.isRegularFile == true else { continue }
            total += UInt64(max(0, values.fileSize ?? 0))
        }
        return StoreUsage(storeBytes: total, filesystemBytes: UInt64(stats.f_blocks) * fragment,
                          filesystemAvailableBytes: UInt64(stats.f_bavail) * fragment)
    }
}
