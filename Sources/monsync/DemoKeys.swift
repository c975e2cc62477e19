#if ZeroMQ
import Foundation
import MonSyncCore
import MonSyncMonitor
import MonSyncZeroMQ

/// The CURVE keys of `monsync demo --transport zmq`, made fresh for each run: a key pair per
/// monitor (its `.key` file beside its store, mode 0600) and a `write` key for the demo's own
/// client, all in one keyring file — the layout `monsync keygen` and docs/SECURITY.md describe.
struct DemoKeys {
    /// The keyring file every node is given.
    let keyringPath: String
    /// The demo client's security: its key, and the monitors' keys bound to their addresses.
    let clientSecurity: ZeroMQSecurity
    private let directory: String

    init(names: [String], monmap: MonMap, directory: String) throws {
        self.directory = directory
        var identities: [PeerIdentity] = []
        var lines = ["# made by monsync demo --transport zmq for this run"]
        for name in names {
            let pair = try CurveKeyPair.generate()
            try Self.write(pair.secretKey + "\n", to: Self.secretKeyPath(of: name, in: directory))
            identities.append(PeerIdentity(name: name, role: .monitor, credential: pair.publicKey))
            lines.append("\(name) monitor \(pair.publicKey)")
        }
        let client = try CurveKeyPair.generate()
        identities.append(PeerIdentity(name: "client.demo", role: .write, credential: client.publicKey))
        lines.append("client.demo write \(client.publicKey)")
        keyringPath = "\(directory)/keyring"
        try Self.write(lines.joined(separator: "\n") + "\n", to: keyringPath)
        let keyring = try CurveKeyring(peers: identities)
        for (member, identity) in zip(monmap.members, identities) {
            try keyring.bind(TransportAddress(member.address), to: identity.credential)
        }
        clientSecurity = ZeroMQSecurity(keyPair: client, keyring: keyring)
    }

    /// The secret key file of monitor `name`.
    func secretKeyPath(of name: String) -> String { Self.secretKeyPath(of: name, in: directory) }

    private static func secretKeyPath(of name: String, in directory: String) -> String { "\(directory)/\(name).key" }

    /// Writes `text` to a new file readable by its owner only.
    private static func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
#endif
