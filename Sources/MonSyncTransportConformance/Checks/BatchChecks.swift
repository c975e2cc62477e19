import MonSyncCore

/// Checks of `MessageTransport.post(_:to:completion:)`, the batched send that does not wait.
enum BatchChecks {
    /// Posts `messages` and waits, in real time at most `limit`, for the completion.
    static func post(_ messages: [[UInt8]], from transport: any MessageTransport, to peer: TransportAddress,
                     within limit: Duration, _ what: String) async throws -> (result: TransportBatchResult, elapsed: Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await expectWithin(limit, "the completion of \(what) from \(transport.localAddress) to \(peer)") {
            await withCheckedContinuation { (continuation: CheckedContinuation<TransportBatchResult, Never>) in
                transport.post(messages, to: peer) { continuation.resume(returning: $0) }
            }
        }
        return (result, start.duration(to: clock.now))
    }

    @Sendable static func postedBatches(_ context: CheckContext) async throws {
        let a = try await context.node("a")
        let b = try await context.node("b")
        let limit = context.configuration.sendTimeout + context.timeout
        // Batches of 1 to 200 messages of varying sizes, each posted once the one before completed.
        var sequence: UInt64 = 0
        for size in [1, 2, 7, 64, 200, 1, 33] {
            var batch: [[UInt8]] = []
            for _ in 0..<size {
                batch.append(ProbeFrame.make(tag: 1, sequence: sequence, padding: Int(sequence % 5) * 31))
                sequence += 1
            }
            let (result, _) = try await post(batch, from: a.transport, to: b.address, within: limit, "a batch of \(size)")
            guard result == TransportBatchResult(sent: size) else {
                throw Mismatch(expected: "a batch of \(size) to a consuming receiver to complete with every message sent",
                               observed: "\(result)")
            }
        }
        // An oversize message fails its batch before anything of it is sent.
        let oversize = [ProbeFrame.make(tag: 1, sequence: sequence), [UInt8](repeating: 0, count: a.transport.limits.maximumMessageSize + 1)]
        let (refused, _) = try await post(oversize, from: a.transport, to: b.address, within: context.promptness, "a batch with a message over the limit")
        guard refused.sent == 0, case .messageTooLarge? = refused.failure else {
            throw Mismatch(expected: "a batch holding a message over the limit to fail with messageTooLarge, nothing sent",
                           observed: "\(refused)")
        }
        let marker = ProbeFrame.make(tag: 2, sequence: 0)
        try await context.send(marker, from: a.transport, to: b.address, "a message after the batches")
        let received = try await b.events.messages(count: Int(sequence) + 1, within: limit, "the \(sequence) batched messages and a marker at \(b.address)")
        for (index, message) in received.enumerated() {
            let expected = index == Int(sequence) ? marker : ProbeFrame.make(tag: 1, sequence: UInt64(index), padding: index % 5 * 31)
            guard sameBytes(expected, message.bytes), message.sender == a.address else {
                throw Mismatch(expected: "every batched message once, in order, then the marker (message \(index))",
                               observed: ProbeFrame.describe(message.bytes))
            }
        }
    }

    @Sendable static func postedBatchBackpressure(_ context: CheckContext) async throws {
        let sendTimeout = context.configuration.sendTimeout
        let a = try await context.node("a", options: context.shortSendTimeout)
        let b = try await context.node("b", consume: false)
        let maximumAccepted = max(2_000, 50 * context.configuration.queueCapacity)
        let padding = 64 << 10
        let batchSize = 16
        var accepted = 0
        var failure: (TransportError, Duration)?
        while accepted < maximumAccepted {
            let batch = (0..<batchSize).map { ProbeFrame.make(tag: 1, sequence: UInt64(accepted + $0), padding: padding) }
            let (result, elapsed) = try await post(batch, from: a.transport, to: b.address, within: sendTimeout + context.promptness,
                                                   "a batch to a receiver that does not consume")
            accepted += result.sent
            if let error = result.failure {
                failure = (error, elapsed)
                break
            }
        }
        guard let (error, elapsed) = failure else {
            throw Mismatch(expected: "a bounded queue: a batch fails once the receiver's queues are full",
                           observed: "\(maximumAccepted) messages of \(padding) bytes accepted by a receiver that consumes nothing")
        }
        guard case .sendTimedOut(b.address, _) = error, elapsed >= sendTimeout - .milliseconds(50) else {
            throw Mismatch(expected: "the batch that did not fit to fail with sendTimedOut(\(b.address)) after the send timeout (\(sendTimeout))",
                           observed: "\(error) after \(elapsed)")
        }
        // Exactly the messages the completions counted arrive, in order; nothing after them.
        try await context.expectAcceptedThenNothingRefused(accepted, refused: "the unsent rest of the failed batch",
                                                           marker: ProbeFrame.make(tag: 2, sequence: 0), from: a.transport, to: b.transport)
    }

    @Sendable static func postToUnknownPeer(_ context: CheckContext) async throws {
        let sendTimeout = context.configuration.sendTimeout
        let a = try await context.node("a", options: context.shortSendTimeout)
        let nobody = try context.address("nobody")
        let batch = (0..<3).map { ProbeFrame.make(tag: 1, sequence: UInt64($0)) }
        let (result, _) = try await post(batch, from: a.transport, to: nobody, within: sendTimeout + context.promptness,
                                         "a batch to an address nobody serves")
        guard result.sent == 0, case .peerUnreachable(nobody)? = result.failure else {
            throw Mismatch(expected: "peerUnreachable(\(nobody)), nothing sent, for a batch to an address nobody serves", observed: "\(result)")
        }
    }
}
