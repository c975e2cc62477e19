import MonSyncCore
import MonSyncMonitor

// The code of the article ChangingMembership.md in MonSyncMonitor.docc. The block there is a copy
// of the marked lines: change both.

/// The article: a membership change from a client.
func addMonitor(transport: any MessageTransport, monmap: MonMap) async throws -> UInt64 {
    // snippet: membership-add
    let client = MonitorClient(transport: transport, monmap: monmap)
    try await client.start()
    // Commit monmap e+1 with mon.d; then start mon.d on an empty store with the new map.
    let version = try await client.addMonitor(name: "d", address: "tcp://10.0.0.4:7001")
    // snippet: end
    await client.shutdown()
    return version
}
