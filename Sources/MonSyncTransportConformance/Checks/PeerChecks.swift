import MonSyncCore

/// Checks of peers coming and going: unknown addresses, peers that go down, peers that come back.
enum PeerChecks {
    @Sendable static func connectReportsPeerUp(_ context: CheckContext) async throws {
        let a = try await context.node("a")
        let b = try await context.node("b")
        let result = try await expectWithin(context.promptness, "connect(to: \(b.address)) to return") {
            do throws(TransportError) { try await a.transport.connect(to: b.address); return TransportError?.none } catch {
                return error
            }
        }
        if let result {
            throw Mismatch(expected: "connect(to:) a running peer to succeed", observed: "it threw \(result)")
        }
        try await a.events.waitForPeerUp(b.address, within: context.timeout)
    }

    @Sendable static func unknownPeer(_ context: CheckContext) async throws {
        let sendTimeout = context.configuration.sendTimeout
        let a = try await context.node("a", options: context.shortSendTimeout)
        let nobody = try context.address("nobody")
        let outcome = await context.attemptSend(ProbeFrame.make(tag: 1, sequence: 0), from: a.transport, to: nobody,
                                                within: sendTimeout + context.promptness)
        guard case let .failed(.peerUnreachable(peer), _) = outcome, peer == nobody else {
            throw Mismatch(expected: "peerUnreachable(\(nobody)) within \(sendTimeout + context.promptness) for an address nobody serves",
                           observed: "\(outcome)")
        }
        // The failure concerned one peer only: the transport still works.
        let b = try await context.node("b")
        let frame = ProbeFrame.make(tag: 1, sequence: 1)
        try await context.send(frame, from: a.transport, to: b.address, "a message after the failed send")
        let received = try await b.events.nextMessage(within: context.timeout, "the message after the failed send")
        try MessagingChecks.expectSame(frame, received, from: a.address, at: b.address)
    }

    /// `a` sends to `b`, `b` receives it, and `a` has reported `b` up: the start of the peer checks.
    private static func connectedPair(_ context: CheckContext, senderOptions: TransportOptions? = nil) async throws -> (a: Node, b: Node, upMark: Int) {
        let a = try await context.node("a", options: senderOptions)
        let b = try await context.node("b")
        let frame = ProbeFrame.make(tag: 1, sequence: 0)
        try await context.send(frame, from: a.transport, to: b.address, "a first message")
        let received = try await b.events.nextMessage(within: context.timeout, "the first message at \(b.address)")
        try MessagingChecks.expectSame(frame, received, from: a.address, at: b.address)
        let upMark = try await a.events.waitForPeerUp(b.address, within: context.timeout)
        return (a, b, upMark)
    }

    @Sendable static func peerDown(_ context: CheckContext) async throws {
        let sendTimeout = context.configuration.sendTimeout
        let (a, b, upMark) = try await connectedPair(context, senderOptions: context.shortSendTimeout)
        try await context.shutdown(b.transport)
        try await a.events.waitForPeerDown(b.address, after: upMark + 1, within: context.timeout)
        let outcome = await context.attemptSend(ProbeFrame.make(tag: 1, sequence: 1), from: a.transport, to: b.address,
                                                within: sendTimeout + context.promptness)
        switch outcome {
        case .failed(.peerUnreachable(b.address), _), .failed(.sendTimedOut(b.address, _), _):
            return
        default:
            throw Mismatch(expected: "a send to \(b.address), reported down, to throw peerUnreachable or sendTimedOut within \(sendTimeout + context.promptness)",
                           observed: "\(outcome)")
        }
    }

    @Sendable static func gracefulShutdown(_ context: CheckContext) async throws {
        let (a, b, upMark) = try await connectedPair(context)
        // More than a socket buffer holds, so some are still queued in b when it shuts down.
        let count = 200
        for sequence in 0..<count {
            let frame = ProbeFrame.make(tag: 2, sequence: UInt64(sequence), padding: sequence % 2 == 0 ? 16 << 10 : 10)
            try await context.send(frame, from: b.transport, to: a.address, "message \(sequence) of \(count)")
        }
        try await context.shutdown(b.transport, "with sent messages possibly still queued")
        let downIndex = try await a.events.waitForPeerDown(b.address, after: upMark + 1, within: context.timeout)
        let log = a.events.log
        var next: UInt64 = 0
        for (index, event) in log.enumerated() {
            guard case let .message(message) = event, message.sender == b.address else { continue }
            guard index < downIndex else {
                throw Mismatch(expected: "every message from \(b.address) before its peerDown",
                               observed: "\(ProbeFrame.describe(message.bytes)) after peerDown(\(b.address))")
            }
            guard let (_, sequence) = ProbeFrame.parse(message.bytes), sequence == next else {
                throw Mismatch(expected: "message \(next) from \(b.address) in order", observed: ProbeFrame.describe(message.bytes))
            }
            next += 1
        }
        guard next == UInt64(count) else {
            throw Mismatch(expected: "all \(count) messages whose send returned before \(b.address) shut down, before its peerDown",
                           observed: "\(next) of them")
        }
    }

    @Sendable static func peerRestart(_ context: CheckContext) async throws {
        let (a, b, upMark) = try await connectedPair(context, senderOptions: context.shortSendTimeout)
        try await context.shutdown(b.transport)
        let downMark = try await a.events.waitForPeerDown(b.address, after: upMark + 1, within: context.timeout)

        // The same address, a new process.
        let restarted = try await context.node(at: b.address)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: context.timeout)
        var sequence: UInt64 = 1
        var last = ""
        while true {
            let frame = ProbeFrame.make(tag: 1, sequence: sequence)
            let outcome = await context.attemptSend(frame, from: a.transport, to: b.address,
                                                    within: context.configuration.sendTimeout + context.promptness)
            switch outcome {
            case .sent:
                break
            case .failed(.peerUnreachable, _), .failed(.sendTimedOut, _):
                last = "\(outcome)"
                guard clock.now < deadline else {
                    throw Mismatch(expected: "sends from \(a.address) to reach the restarted \(b.address) within \(context.timeout)",
                                   observed: "the last send: \(last)")
                }
                try await clock.sleep(for: .milliseconds(50))
                sequence += 1
                continue
            default:
                throw Mismatch(expected: "sends to a restarted peer to succeed, or fail with peerUnreachable/sendTimedOut until it is reconnected",
                               observed: "\(outcome)")
            }
            let received = try await restarted.events.nextMessage(within: context.timeout, "a message at the restarted \(b.address)")
            // Sends that threw must not have been delivered: the first message is the one that succeeded.
            try MessagingChecks.expectSame(frame, received, from: a.address, at: b.address)
            break
        }
        try await a.events.waitForPeerUp(b.address, after: downMark + 1, within: context.timeout)

        let reply = ProbeFrame.make(tag: 2, sequence: 0)
        try await context.send(reply, from: restarted.transport, to: a.address, "a reply from the restarted peer")
        let answered = try await a.events.nextMessage(within: context.timeout, "the reply from the restarted \(b.address)")
        try MessagingChecks.expectSame(reply, answered, from: b.address, at: a.address)
    }
}
