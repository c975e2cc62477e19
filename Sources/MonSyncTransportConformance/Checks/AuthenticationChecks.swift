import MonSyncCore

/// Checks of a transport that authenticates its peers (``TransportConformance/Authentication``):
/// an admitted peer is identified, a stranger can neither send nor be sent to.
enum AuthenticationChecks {
    private static func authentication(_ context: CheckContext) throws -> TransportConformance.Authentication {
        guard let authentication = context.kit.authentication else {
            throw Mismatch(expected: "a kit made with an Authentication (this check is for secured transports)",
                           observed: "none given")
        }
        return authentication
    }

    @Sendable static func admittedPeerIsAuthenticated(_ context: CheckContext) async throws {
        _ = try authentication(context)
        let a = try await context.node("a")
        let b = try await context.node("b")
        let request = ProbeFrame.make(tag: 1, sequence: 1, padding: 10)
        try await context.send(request, from: a.transport, to: b.address, "a request between admitted peers")
        let received = try await b.events.nextMessage(within: context.timeout, "the request from \(a.address) at \(b.address)")
        guard received.peer != nil else {
            throw Mismatch(expected: "a message from an admitted peer to carry the identity its credential proves",
                           observed: "InboundMessage.peer is nil")
        }
        let reply = ProbeFrame.make(tag: 2, sequence: 1, padding: 10)
        try await context.send(reply, from: b.transport, to: received.sender, "the reply to an admitted peer")
        let answered = try await a.events.nextMessage(within: context.timeout, "the reply at \(a.address)")
        guard answered.peer != nil else {
            throw Mismatch(expected: "the reply to carry the replier's identity", observed: "InboundMessage.peer is nil")
        }
    }

    @Sendable static func strangerRefused(_ context: CheckContext) async throws {
        let authentication = try authentication(context)
        let b = try await context.node("b")
        let strangerAddress = try context.address("stranger")
        let made: any MessageTransport
        do { made = try authentication.makeStranger(strangerAddress, context.shortSendTimeout) } catch {
            throw Mismatch(expected: "makeStranger(\(strangerAddress)) to return a transport", observed: "it threw \(error)")
        }
        let stranger = try context.adopt(made)
        try await context.start(stranger)
        let strangerEvents = EventProbe(stranger)

        // Whatever the stranger's send reports, nothing of it may reach the receiver.
        let injected = ProbeFrame.make(tag: 9, sequence: 1, padding: 10)
        _ = await context.attemptSend(injected, from: stranger, to: b.address, within: context.configuration.sendTimeout + context.promptness)
        if let arrived = try? await b.events.nextMessage(within: context.promptness, "nothing from the stranger") {
            throw Mismatch(expected: "no message from a peer whose credential is not admitted",
                           observed: "\(ProbeFrame.describe(arrived.bytes)) from \(arrived.sender), peer \(String(describing: arrived.peer))")
        }
        // Nor may the receiver's messages reach the stranger.
        let leaked = ProbeFrame.make(tag: 10, sequence: 1, padding: 10)
        _ = await context.attemptSend(leaked, from: b.transport, to: stranger.localAddress, within: context.configuration.sendTimeout + context.promptness)
        if let arrived = try? await strangerEvents.nextMessage(within: context.promptness, "nothing at the stranger") {
            throw Mismatch(expected: "no message delivered to a peer whose credential is not admitted",
                           observed: "\(ProbeFrame.describe(arrived.bytes)) from \(arrived.sender)")
        }
        // The receiver still serves its admitted peers.
        let a = try await context.node("a")
        let request = ProbeFrame.make(tag: 1, sequence: 2, padding: 10)
        try await context.send(request, from: a.transport, to: b.address, "a request after the stranger's attempts")
        let received = try await b.events.nextMessage(within: context.timeout, "the admitted peer's request at \(b.address)")
        guard ProbeFrame.parse(received.bytes).map({ $0 == (1, 2) }) == true else {
            throw Mismatch(expected: "the admitted peer's request", observed: ProbeFrame.describe(received.bytes))
        }
    }
}
