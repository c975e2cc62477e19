import MonSyncCore
import Synchronization

/// Checks of start and shutdown.
enum LifecycleChecks {
    @Sendable static func doubleStart(_ context: CheckContext) async throws {
        let transport = try context.make(at: context.address("a"))
        try await context.start(transport)
        let second = try await startResult(transport, context)
        guard case .alreadyStarted? = second else {
            throw Mismatch(expected: "a second start() to throw alreadyStarted", observed: describe(second))
        }
        try await context.shutdown(transport)
        let third = try await startResult(transport, context)
        switch third {
        case .alreadyStarted?, .notRunning?: return
        default:
            throw Mismatch(expected: "start() after shutdown() to throw alreadyStarted or notRunning", observed: describe(third))
        }
    }

    @Sendable static func duplicateAddress(_ context: CheckContext) async throws {
        let a = try await context.node("a")
        let intruder = try context.make(at: a.address)
        let result = try await startResult(intruder, context)
        guard case let .bindFailed(address, _)? = result, address == a.address else {
            throw Mismatch(expected: "start() on an address in use to throw bindFailed(\(a.address), …)", observed: describe(result))
        }
        try await context.shutdown(intruder, "after its start failed")
        // The first endpoint still owns the address.
        let b = try await context.node("b")
        let frame = ProbeFrame.make(tag: 2, sequence: 0)
        try await context.send(frame, from: b.transport, to: a.address, "a message to the first endpoint")
        let received = try await a.events.nextMessage(within: context.timeout, "the message at the first endpoint")
        try MessagingChecks.expectSame(frame, received, from: b.address, at: a.address)
    }

    @Sendable static func sendAfterShutdown(_ context: CheckContext) async throws {
        let b = try await context.node("b")
        let idle = try context.make(at: context.address("idle"))
        try await expectNotRunning(idle, to: b.address, "before start()", context)

        let a = try await context.node("a")
        try await context.send(ProbeFrame.make(tag: 1, sequence: 0), from: a.transport, to: b.address, "a message while running")
        try await context.shutdown(a.transport)
        try await expectNotRunning(a.transport, to: b.address, "after shutdown()", context)
        try await a.events.waitForFinish(within: context.promptness, "the events of \(a.address) to finish after shutdown()")
    }

    @Sendable static func shutdownWhileBusy(_ context: CheckContext) async throws {
        // Waits must be real: the send timeout is far longer than anything this check waits for.
        // (Twice the timeout was not: on a loaded machine, filling b until a send blocks took
        // longer, and the blocked send timed out before the shutdown could end it.) A transport
        // whose shutdown leaves the send waiting still fails at once, on `promptness` below.
        let options = context.options { $0.sendTimeout = context.timeout * 15 }
        let a = try await context.node("a", options: options)
        let b = try await context.node("b", options: options, consume: false)
        let nobody = try context.address("nobody")

        // One sender fills b (which consumes nothing) until its send blocks.
        let blocked = try await BlockedSender.start(from: a.transport, to: b.address, context)
        // Another waits on (or has already failed for) an unknown peer.
        let unknown = Task { () async -> TransportError? in
            do throws(TransportError) { try await a.transport.send(ProbeFrame.make(tag: 1, sequence: 0), to: nobody) } catch {
                return error
            }
            return nil
        }
        try await Task.sleep(for: .milliseconds(100))

        try await context.shutdown(a.transport, "while a send is blocked and the consumer waits")
        let blockedError = try await expectWithin(context.promptness, "the blocked send to end after shutdown()") {
            await blocked.task.value
        }
        guard case .notRunning? = blockedError else {
            throw Mismatch(expected: "the send blocked on a full receiver to throw notRunning when its transport shuts down",
                           observed: blockedError.map { "it threw \($0)" } ?? "it succeeded")
        }
        let unknownError = try await expectWithin(context.promptness, "the send to an unknown peer to end after shutdown()") {
            await unknown.value
        }
        switch unknownError {
        case .notRunning?, .peerUnreachable(nobody)?: break
        default:
            throw Mismatch(expected: "the send to an unknown peer to throw peerUnreachable or notRunning",
                           observed: unknownError.map { "it threw \($0)" } ?? "it succeeded")
        }
        try await a.events.waitForFinish(within: context.promptness, "the events of \(a.address) to finish after shutdown()")
        try await context.shutdown(a.transport, "a second time")

        // The receiver holds undelivered messages and has no consumer: it too shuts down promptly,
        // and its events finish (after whatever it still delivers).
        try await context.shutdown(b.transport, "with undelivered messages queued")
        let late = EventProbe(b.transport)
        try await late.waitForFinish(within: context.timeout, "the events of \(b.address) to finish after shutdown()")
    }

    /// How `start()` ended: `nil` when it succeeded.
    private static func startResult(_ transport: any MessageTransport, _ context: CheckContext) async throws -> TransportError? {
        try await expectWithin(context.promptness, "start() of \(transport.localAddress) to return") {
            do throws(TransportError) { try await transport.start(); return TransportError?.none } catch { return error }
        }
    }

    private static func describe(_ error: TransportError?) -> String {
        error.map { "it threw \($0)" } ?? "it succeeded"
    }

    /// `send` and `connect` on a transport that is not running throw `notRunning`, promptly.
    private static func expectNotRunning(_ transport: any MessageTransport, to peer: TransportAddress,
                                         _ situation: String, _ context: CheckContext) async throws {
        let sent = await context.attemptSend(ProbeFrame.make(tag: 9, sequence: 9), from: transport, to: peer,
                                             within: context.promptness)
        guard case .failed(.notRunning, _) = sent else {
            throw Mismatch(expected: "send \(situation) to throw notRunning", observed: "\(sent)")
        }
        let connected = try await expectWithin(context.promptness, "connect(to:) \(situation) to return") {
            do throws(TransportError) { try await transport.connect(to: peer); return TransportError?.none } catch { return error }
        }
        guard case .notRunning? = connected else {
            throw Mismatch(expected: "connect(to:) \(situation) to throw notRunning", observed: describe(connected))
        }
    }
}
