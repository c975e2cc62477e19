import MonSyncCore
import Synchronization

/// Checks of what messages do: arrive, in order, whole, bounded.
enum MessagingChecks {
    @Sendable static func exchangeBothWays(_ context: CheckContext) async throws {
        let a = try await context.node("a")
        let b = try await context.node("b")
        let request = ProbeFrame.make(tag: 1, sequence: 1, padding: 100)
        try await context.send(request, from: a.transport, to: b.address, "a request")
        let received = try await b.events.nextMessage(within: context.timeout, "the request from \(a.address) at \(b.address)")
        try expectSame(request, received, from: a.address, at: b.address)

        // Reply to the sender address as received: that is how every handler answers.
        let reply = ProbeFrame.make(tag: 2, sequence: 1, padding: 3)
        try await context.send(reply, from: b.transport, to: received.sender, "the reply")
        let answered = try await a.events.nextMessage(within: context.timeout, "the reply from \(b.address) at \(a.address)")
        try expectSame(reply, answered, from: b.address, at: a.address)
    }

    @Sendable static func perPairOrdering(_ context: CheckContext) async throws {
        let count = context.configuration.orderedMessageCount
        let receiver = try await context.node("b")
        let senders = [try await context.node("a", consume: false), try await context.node("c", consume: false)]
        let limit = context.timeout + context.timeout
        // Both senders at once, each with sizes that vary so framing mistakes show.
        async let first: Void = sendSequence(count, tag: 1, from: senders[0].transport, to: receiver.address, context, limit)
        async let second: Void = sendSequence(count, tag: 2, from: senders[1].transport, to: receiver.address, context, limit)
        let received = try await receiver.events.messages(
            count: 2 * count, within: limit, "\(2 * count) messages from two concurrent senders at \(receiver.address)")
        try await first
        try await second

        var next: [UInt64: UInt64] = [1: 0, 2: 0]
        let expectedSender: [UInt64: TransportAddress] = [1: senders[0].address, 2: senders[1].address]
        for message in received {
            guard let (tag, sequence) = ProbeFrame.parse(message.bytes), let due = next[tag] else {
                throw Mismatch(expected: "only the probe frames the two senders sent",
                               observed: ProbeFrame.describe(message.bytes))
            }
            guard message.sender == expectedSender[tag] else {
                throw Mismatch(expected: "a message of \(expectedSender[tag]!) to carry that sender",
                               observed: "sender \(message.sender)")
            }
            guard sequence == due else {
                throw Mismatch(expected: "the messages from \(message.sender) in send order 0, 1, 2, … each once",
                               observed: "sequence \(sequence) where \(due) was due")
            }
            next[tag] = due + 1
        }
    }

    /// Sends `count` probe frames in order; each must be accepted.
    private static func sendSequence(_ count: Int, tag: UInt64, from transport: any MessageTransport,
                                     to peer: TransportAddress, _ context: CheckContext, _ limit: Duration) async throws {
        let outcome = await withDeadline(limit) { () async -> (Int, TransportError)? in
            for sequence in 0..<count {
                let frame = ProbeFrame.make(tag: tag, sequence: UInt64(sequence), padding: sequence % 7 * 13)
                do throws(TransportError) { try await transport.send(frame, to: peer) } catch { return (sequence, error) }
            }
            return nil
        }
        switch outcome {
        case .finished(.success(nil)): return
        case let .finished(.success((sequence, error)?)):
            throw Mismatch(expected: "every send from \(transport.localAddress) to a consuming receiver to succeed",
                           observed: "send of message \(sequence) threw \(error)")
        case let .finished(.failure(error)):
            throw Mismatch(expected: "the sends to finish", observed: "\(error)")
        case .timedOut:
            throw Mismatch(expected: "\(count) sends from \(transport.localAddress) to finish within \(limit)",
                           observed: "still sending after \(limit)")
        }
    }

    @Sendable static func hugeMessage(_ context: CheckContext) async throws {
        let size = context.configuration.hugeMessageSize
        let a = try await context.node("a")
        let b = try await context.node("b")
        guard size <= a.transport.limits.maximumMessageSize else {
            throw Mismatch(expected: "a limit of at least hugeMessageSize (\(size) bytes); configure a smaller hugeMessageSize for this transport",
                           observed: "maximumMessageSize \(a.transport.limits.maximumMessageSize)")
        }
        let huge = ProbeFrame.huge(size: size, tag: 1)
        try await context.send(huge, from: a.transport, to: b.address, "a \(size)-byte message")
        let received = try await b.events.nextMessage(within: context.timeout, "the \(size)-byte message at \(b.address)")
        try expectSame(huge, received, from: a.address, at: b.address)

        let after = ProbeFrame.make(tag: 1, sequence: 2)
        try await context.send(after, from: a.transport, to: b.address, "a small message after the huge one")
        let next = try await b.events.nextMessage(within: context.timeout, "the small message after the huge one")
        try expectSame(after, next, from: a.address, at: b.address)
    }

    @Sendable static func messageTooLarge(_ context: CheckContext) async throws {
        let a = try await context.node("a")
        let b = try await context.node("b")
        let limit = a.transport.limits.maximumMessageSize
        let tooLarge = [UInt8](repeating: 0, count: limit + 1)
        let outcome = await context.attemptSend(tooLarge, from: a.transport, to: b.address, within: context.promptness)
        guard case let .failed(.messageTooLarge(size, reportedLimit), _) = outcome, size == limit + 1, reportedLimit == limit else {
            throw Mismatch(expected: "messageTooLarge(size: \(limit + 1), limit: \(limit)) for a message one byte over the limit",
                           observed: "\(outcome)")
        }
        // Nothing of the refused message may have gone out: the next message is the first to arrive.
        let marker = ProbeFrame.make(tag: 1, sequence: 1)
        try await context.send(marker, from: a.transport, to: b.address, "a message after the refused one")
        let received = try await b.events.nextMessage(within: context.timeout, "the message after the refused one")
        try expectSame(marker, received, from: a.address, at: b.address)
    }

    @Sendable static func backpressure(_ context: CheckContext) async throws {
        let sendTimeout = context.configuration.sendTimeout
        let a = try await context.node("a", options: context.shortSendTimeout)
        // The receiver runs but nobody consumes its events yet.
        let b = try await context.node("b", consume: false)
        // Far more than any sane bounded queue holds, yet small enough to fail fast when nothing is bounded.
        let maximumAccepted = max(2_000, 50 * context.configuration.queueCapacity)
        let padding = 64 << 10
        var accepted = 0
        var timedOutAfter: Duration?
        while accepted < maximumAccepted {
            let frame = ProbeFrame.make(tag: 1, sequence: UInt64(accepted), padding: padding)
            let outcome = await context.attemptSend(frame, from: a.transport, to: b.address,
                                                    within: sendTimeout + context.promptness)
            switch outcome {
            case .sent:
                accepted += 1
                continue
            case let .failed(.sendTimedOut(peer, _), elapsed) where peer == b.address:
                timedOutAfter = elapsed
            default:
                throw Mismatch(expected: "sends to a receiver that does not consume to succeed, then throw sendTimedOut(\(b.address)) within \(sendTimeout + context.promptness)",
                               observed: "after \(accepted) accepted message(s): \(outcome)")
            }
            break
        }
        guard let timedOutAfter else {
            throw Mismatch(expected: "a bounded queue: sendTimedOut once the receiver's queues are full",
                           observed: "\(maximumAccepted) messages of \(padding) bytes accepted by a receiver that consumes nothing")
        }
        guard timedOutAfter >= sendTimeout - .milliseconds(50) else {
            throw Mismatch(expected: "sendTimedOut after waiting the send timeout (\(sendTimeout))",
                           observed: "sendTimedOut after only \(timedOutAfter)")
        }

        // Now consume: exactly the accepted messages arrive, in order; the refused one never does.
        try await context.expectAcceptedThenNothingRefused(accepted, refused: "the timed-out send",
                                                           marker: ProbeFrame.make(tag: 1, sequence: UInt64(maximumAccepted + 1)),
                                                           from: a.transport, to: b.transport)
    }

    @Sendable static func sendTimeoutFollowsClock(_ context: CheckContext) async throws {
        let clock = ManualClock()
        let sendTimeout = Duration.milliseconds(200)
        let options = context.options {
            $0.clock = clock
            $0.sendTimeout = sendTimeout
        }
        let a = try await context.node("a", options: options)
        let b = try await context.node("b", options: options, consume: false)
        let sender = try await BlockedSender.start(from: a.transport, to: b.address, context)
        // Longer, in real time, than the send timeout: a transport timing out on the wall would have thrown by now.
        try await ContinuousClock().sleep(for: sendTimeout + .milliseconds(100))
        if sender.hasFinished {
            let error = await sender.task.value
            throw Mismatch(expected: "a blocked send to wait while options.clock stands still",
                           observed: "it ended (\(error.map { "\($0)" } ?? "succeeded")) though the clock did not move: the transport times out on another clock")
        }
        clock.advance(by: sendTimeout)
        let error = try await expectWithin(context.promptness, "the blocked send to end once options.clock passed its send timeout") {
            await sender.task.value
        }
        guard case .sendTimedOut(b.address, _)? = error else {
            throw Mismatch(expected: "sendTimedOut(\(b.address)) once options.clock passed the send timeout",
                           observed: error.map { "it threw \($0)" } ?? "it succeeded")
        }
    }

    /// Checks that `message` is exactly `sent`, from `sender`.
    static func expectSame(_ sent: [UInt8], _ message: InboundMessage, from sender: TransportAddress,
                           at receiver: TransportAddress) throws {
        guard message.sender == sender else {
            throw Mismatch(expected: "the message at \(receiver) to name its sender \(sender)", observed: "sender \(message.sender)")
        }
        guard sameBytes(sent, message.bytes) else {
            throw Mismatch(expected: "the \(sent.count) bytes sent by \(sender), unmodified",
                           observed: firstDifference(sent, message.bytes))
        }
    }
}
