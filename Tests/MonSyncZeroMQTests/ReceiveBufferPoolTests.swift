#if ZeroMQ
@testable import MonSyncZeroMQ
import Testing

@Suite("Receive buffer pool")
struct ReceiveBufferPoolTests {
    static func bytes(_ fill: UInt8, count: Int) -> [UInt8] { [UInt8](repeating: fill, count: count) }

    @Test func aMessageStillHeldIsNeverOverwritten() {
        var pool = ReceiveBufferPool(slots: 1)
        let size = 256 << 10
        let first = Self.bytes(1, count: size), second = Self.bytes(2, count: size)
        let held = first.withUnsafeBytes { pool.copy($0.baseAddress, count: size) }
        let next = second.withUnsafeBytes { pool.copy($0.baseAddress, count: size) }
        #expect(held == first, "the slot was refilled while the application held its message")
        #expect(next == second)
    }

    @Test func aReleasedBufferIsReused() {
        var pool = ReceiveBufferPool(slots: 1)
        let size = 1 << 20
        let source = Self.bytes(7, count: size)
        var address: UnsafeRawPointer?
        do {
            let message = source.withUnsafeBytes { pool.copy($0.baseAddress, count: size) }
            address = message.withUnsafeBytes { $0.baseAddress }
        }
        let smaller = Self.bytes(9, count: size / 2)
        let again = smaller.withUnsafeBytes { pool.copy($0.baseAddress, count: size / 2) }
        #expect(again == smaller)
        #expect(again.withUnsafeBytes { $0.baseAddress } == address, "the storage was not recycled")
    }

    @Test func smallAndHugeMessagesBypassThePool() {
        var pool = ReceiveBufferPool(slots: 1)
        for size in [0, 1, 1000, (4 << 20) + 1] {
            let source = Self.bytes(UInt8(truncatingIfNeeded: size), count: size)
            let copy = source.withUnsafeBytes { pool.copy($0.baseAddress, count: size) }
            #expect(copy == source)
        }
    }
}
#endif
