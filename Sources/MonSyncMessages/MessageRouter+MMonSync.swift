public import MonSyncCore

/// Routes MMonSync by its op, the way the sync's roles register.
extension MessageRouter {
    /// Registers `handler` for one MMonSync op.
    public mutating func register(
        _ op: MMonSync.Op, _ handler: @escaping @Sendable (MMonSync, MessageContext) async throws -> Void
    ) {
        register(MMonSync.self, routingKey: op.rawValue, handler)
    }
}
