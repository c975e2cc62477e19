public import MonSyncCore

/// The codec that knows every message of MonSync.
extension MessageCodec {
    /// The monitor's message types, with their Ceph numbers where Ceph has one:
    /// ``MMonCommand`` 50, ``MMonCommandReply`` 51, ``MMonProbe`` 64,
    /// ``MMonElection`` 65, ``MMonPaxos`` 66.
    public static let monitorMessageTypes: [any WireMessage.Type] = [
        MMonCommand.self, MMonCommandReply.self, MMonProbe.self, MMonElection.self, MMonPaxos.self,
    ]

    /// Registers every monitor message type (``monitorMessageTypes``).
    public mutating func registerMonitorMessages() {
        register(MMonCommand.self)
        register(MMonCommandReply.self)
        register(MMonProbe.self)
        register(MMonElection.self)
        register(MMonPaxos.self)
    }

    /// A codec that knows ``MMonSync`` and every monitor message: what MonSync's nodes, clients and
    /// tools speak.
    public static func monitor(maximumPayloadSize: Int = Frame.defaultMaximumPayloadSize) -> MessageCodec {
        var codec = MessageCodec(maximumPayloadSize: maximumPayloadSize)
        codec.register(MMonSync.self)
        codec.registerMonitorMessages()
        return codec
    }
}
