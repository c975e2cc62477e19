import Foundation

/// Runs `body` on a thread of its own and returns its result.
///
/// A simulation is a long synchronous loop: run on Swift's cooperative pool (two threads on a
/// 2-core machine) it would hold a pool thread for a minute and starve every other test that
/// awaits, which then fails its own real-time bounds.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
