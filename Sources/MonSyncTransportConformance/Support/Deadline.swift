import MonSyncCore

/// How an operation run under a deadline ended.
enum DeadlineOutcome<Value: Sendable>: Sendable {
    case finished(Result<Value, any Error>)
    case timedOut
}

/// Runs `operation` in a task of its own and waits at most `limit` (real time) for it.
///
/// Unlike a task group, this never waits for the operation after the deadline:
/// a transport that ignores cancellation and never returns is left behind
/// (cancelled, and leaked), and the check fails instead of hanging the test run.
func withDeadline<Value: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> Value
) async -> DeadlineOutcome<Value> {
    let race = Race<Value>()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<DeadlineOutcome<Value>, Never>) in
            race.install(continuation)
            let work = Task {
                do { race.finish(.finished(.success(try await operation()))) } catch {
                    race.finish(.finished(.failure(error)))
                }
            }
            let timer = Task {
                try? await ContinuousClock().sleep(for: limit)
                race.finish(.timedOut)
            }
            race.track(work: work, timer: timer)
        }
    } onCancel: {
        race.finish(.finished(.failure(CancellationError())))
    }
}

/// Runs `operation` under a deadline and turns a timeout into a ``Mismatch`` naming `expectation`.
func expectWithin<Value: Sendable>(
    _ limit: Duration, _ expectation: String, _ operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    switch await withDeadline(limit, operation) {
    case let .finished(result): return try result.get()
    case .timedOut: throw Mismatch(expected: expectation + " within \(limit)", observed: "still waiting after \(limit)")
    }
}

/// The first of the operation and the timer to finish resumes the waiter; the other is cancelled.
private final class Race<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<DeadlineOutcome<Value>, Never>?
        var outcome: DeadlineOutcome<Value>?
        var tasks: [Task<Void, Never>] = []
    }

    private let state = LockedState(State())

    func install(_ continuation: CheckedContinuation<DeadlineOutcome<Value>, Never>) {
        let early = state.withLock { state -> DeadlineOutcome<Value>? in
            if let outcome = state.outcome { return outcome }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func track(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let done = state.withLock { state -> Bool in
            state.tasks = [work, timer]
            return state.outcome != nil
        }
        if done { work.cancel(); timer.cancel() }
    }

    func finish(_ outcome: DeadlineOutcome<Value>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<DeadlineOutcome<Value>, Never>?, [Task<Void, Never>]) in
            guard state.outcome == nil else { return (nil, []) }
            state.outcome = outcome
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(returning: outcome)
    }
}
