#if ZeroMQ
import Foundation

/// Recycles the arrays that large received messages are copied into.
///
/// Every received message becomes a `[UInt8]` the application owns. For large messages a
/// fresh allocation each time costs more than the copy itself: glibc hands freed megabyte
/// blocks back to the kernel, so each new one page-faults its way through zeroed memory
/// (measured: the receive path ran at 41–48 % of bare libzmq's MB/s at 1 MiB, and at 69–75 %
/// once the allocator was told not to trim). The pool keeps a few buffers and refills the
/// oldest: `removeAll(keepingCapacity:)` reuses its storage when the pool holds the only
/// reference (the application has dropped the message), and copy-on-write gives a fresh
/// buffer otherwise — a message an application still holds is never touched.
///
/// Owned by the I/O thread; retains at most `slots × largest` bytes.
struct ReceiveBufferPool {
    /// Messages in this range of sizes go through the pool; others get a fresh array.
    static let pooledSizes = (64 << 10)...(4 << 20)

    private var slots: [[UInt8]]
    private var next = 0

    init(slots: Int = 4) { self.slots = Array(repeating: [], count: max(1, slots)) }

    /// An array holding a copy of `count` bytes at `data`.
    mutating func copy(_ data: UnsafeRawPointer?, count: Int) -> [UInt8] {
        guard let data, Self.pooledSizes.contains(count) else {
            return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0, let data { memcpy(buffer.baseAddress!, data, count) }
                initialized = count
            }
        }
        let index = next
        next = (next + 1) % slots.count
        slots[index].removeAll(keepingCapacity: true)
        slots[index].append(contentsOf: UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: count))
        return slots[index]
    }
}
#endif
