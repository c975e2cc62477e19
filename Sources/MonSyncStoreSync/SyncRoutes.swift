public import MonSyncCore

/// Registers the sync roles' MMonSync handlers on a router: the role-independent `handle_sync`.
///
/// Each op goes to the role that serves it: START, HEARTBEAT and FINISH to the
/// leader role; START_CHUNKS and CHUNK_REPLY to the provider; START_REPLY,
/// HEARTBEAT_REPLY, CHUNK and FINISH_REPLY to the requester. ABORT
/// (`handle_sync_abort`) goes to the provider's session it names, else the
/// leader's, else the requester's running sync; one that matches none is
/// counted as stale by the requester.
public enum SyncRoutes {
    public static func register(leader: SyncLeader? = nil, provider: SyncProvider?, requester: SyncRequester?,
                                on router: inout MessageRouter) {
        if let leader {
            router.register(.start) { message, context in await leader.handleStart(message, context: context) }
            router.register(.heartbeat) { message, context in await leader.handleHeartbeat(message, context: context) }
            router.register(.finish) { message, context in await leader.handleFinish(message, context: context) }
        }
        if let provider {
            router.register(.startChunks) { message, context in await provider.handleStartChunks(message, context: context) }
            router.register(.chunkReply) { message, context in await provider.handleChunkReply(message, context: context) }
        }
        if let requester {
            router.register(.startReply) { message, context in requester.handleStartReply(message, from: context.sender) }
            router.register(.heartbeatReply) { message, context in requester.handleHeartbeatReply(message, from: context.sender) }
            router.register(.chunk) { message, context in requester.handleChunk(message, from: context.sender) }
            router.register(.finishReply) { message, context in requester.handleFinishReply(message, from: context.sender) }
        }
        router.register(.abort) { message, context in
            if let provider, await provider.handleAbort(message, from: context.sender) { return }
            if let leader, await leader.handleAbort(message, from: context.sender) { return }
            requester?.handleAbort(message, from: context.sender)
        }
    }
}
