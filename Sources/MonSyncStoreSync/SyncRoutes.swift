public import MonSyncCore

/// Registers the provider's and requester's MMonSync handlers on a router (the role-independent `handle_sync`).
///
/// ABORT goes to the requester when it names the requester's running session
/// and comes from its provider, otherwise to the provider's sessions
/// (`handle_sync_abort`); an ABORT that matches neither is counted as stale.
public enum SyncRoutes {
    public static func register(provider: SyncProvider?, requester: SyncRequester?, on router: inout MessageRouter) {
        if let provider {
            router.register(.startChunks) { message, context in await provider.handleStartChunks(message, context: context) }
            router.register(.chunkReply) { message, context in await provider.handleChunkReply(message, context: context) }
        }
        if let requester {
            router.register(.chunk) { message, context in requester.handleChunk(message, from: context.sender) }
        }
        router.register(.abort) { message, context in
            if let provider, await provider.handleAbort(message, from: context.sender) { return }
            requester?.handleAbort(message, from: context.sender)
        }
    }
}
