public import MonSyncCore
public import MonSyncMessages

/// The answers to one ``MonitorClient/survey(timeout:attemptTimeout:)``: which monitors were asked
/// for their status and what each one said.
public struct StatusSurvey: Sendable {
    /// Every monitor asked, in the order asked: the client's monmap, then the members it learned
    /// from the replies' monmaps.
    public var asked: [TransportAddress]
    /// The replies, by the monitor asked (a status is answered by the monitor itself, never forwarded).
    public var replies: [TransportAddress: MMonCommandReply]

    /// A survey's result.
    public init(asked: [TransportAddress], replies: [TransportAddress: MMonCommandReply]) {
        self.asked = asked
        self.replies = replies
    }

    /// The monmap the cluster reports: the members and epoch of the answering monitor with the
    /// newest monmap; `nil` when no reply carried one (no monitor answered, or all predate it).
    public var clusterMonmap: (epoch: UInt32, members: [MonitorEntity])? {
        let newest = asked.compactMap { replies[$0] }.filter { !$0.monmap.isEmpty }.max { $0.monmapEpoch < $1.monmapEpoch }
        return newest.map { ($0.monmapEpoch, $0.monmap) }
    }
}
