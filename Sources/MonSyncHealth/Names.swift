import MonSyncMessages

/// Names monitors in health messages by rank or address, through the cluster's monmap and then
/// the monitors' own replies.
struct Names: Sendable {
    private let byRank: [Int32: String]
    private let byAddress: [String: String]

    init(_ observation: ClusterObservation) {
        var byRank: [Int32: String] = [:]
        var byAddress: [String: String] = [:]
        for monitor in observation.monitors {
            if let rank = monitor.rank { byRank[rank] = monitor.name }
            byAddress[monitor.address] = monitor.name
        }
        for member in observation.members {
            byRank[member.rank] = member.name
            byAddress[member.address] = member.name
        }
        self.byRank = byRank
        self.byAddress = byAddress
    }

    func name(ofRank rank: Int32) -> String { byRank[rank] ?? "\(rank)" }

    /// `mon.b` for a member's address, else the address itself.
    func name(ofAddress address: String) -> String {
        let trimmed = address.hasSuffix("/") ? String(address.dropLast()) : address
        return (byAddress[address] ?? byAddress[trimmed]).map { "mon.\($0)" } ?? address
    }
}
