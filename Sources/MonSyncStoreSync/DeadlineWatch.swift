import MonSyncCore

/// A timer for a deadline that moves: sleeps until the current deadline, and fires once it has passed.
///
/// The provider's session timeout and the leader's trim timeout are renewed by every message of
/// their peer; instead of a new task per renewal, one task re-reads the deadline each time it wakes.
enum DeadlineWatch {
    /// Starts watching. `deadline` returns the current deadline, or `nil` once nothing is watched
    /// any more (the task then ends); `fire` runs when a deadline is reached.
    static func start(timebase: Timebase, deadline: @escaping @Sendable () async -> Duration?,
                      fire: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        Task {
            while let moment = await deadline() {
                if timebase.now >= moment {
                    await fire()
                    return
                }
                do { try await timebase.sleep(until: moment) } catch { return }
            }
        }
    }
}
