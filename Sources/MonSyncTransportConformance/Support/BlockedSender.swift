import MonSyncCore
import Synchronization

/// A task that sends large messages to a receiver that consumes nothing, until a send blocks.
final class BlockedSender: Sendable {
    /// The sending task; its value is the error that ended it, or `nil` if every send succeeded.
    let task: Task<TransportError?, Never>
    private let progress: Progress

    private init(task: Task<TransportError?, Never>, progress: Progress) {
        self.task = task
        self.progress = progress
    }

    /// Whether the sending task has ended.
    var hasFinished: Bool { progress.finished.load(ordering: .acquiring) }

    /// Starts sending from `transport` to `peer` and returns once no send has completed for 300 ms.
    ///
    /// - Throws: ``Mismatch`` if the sends never block (an unbounded queue) or one fails first.
    static func start(from transport: any MessageTransport, to peer: TransportAddress,
                      _ context: CheckContext) async throws -> BlockedSender {
        let limit = max(2_000, 50 * context.configuration.queueCapacity)
        let box = Progress()
        let task = Task { () async -> TransportError? in
            defer { box.finished.store(true, ordering: .releasing) }
            for sequence in 0..<limit {
                do throws(TransportError) {
                    try await transport.send(ProbeFrame.make(tag: 1, sequence: UInt64(sequence), padding: 64 << 10), to: peer)
                } catch { return error }
                box.accepted.add(1, ordering: .relaxed)
            }
            return nil
        }
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: context.timeout)
        var last = -1
        var stableSince = clock.now
        while true {
            try await clock.sleep(for: .milliseconds(50))
            let count = box.accepted.load(ordering: .relaxed)
            if count != last { last = count; stableSince = clock.now }
            if box.finished.load(ordering: .acquiring) {
                let error = await task.value
                throw Mismatch(expected: "sends to a receiver that consumes nothing to block once its queues are full",
                               observed: "after \(count) accepted message(s) of 64 KiB, "
                                   + (error.map { "a send threw \($0)" } ?? "\(limit) sent and none blocked"))
            }
            if stableSince.duration(to: clock.now) >= .milliseconds(300) {
                return BlockedSender(task: task, progress: box)
            }
            guard clock.now < giveUp else {
                task.cancel()
                throw Mismatch(expected: "sends to a receiver that consumes nothing to block once its queues are full",
                               observed: "\(count) messages of 64 KiB accepted and still going after \(context.timeout)")
            }
        }
    }

    /// What the sending task reports to the check.
    private final class Progress: Sendable {
        let accepted = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)
    }
}
