#if ZeroMQ
import MonSyncCore
import MonSyncZeroMQ
import Testing

/// The keyring file format (`NAME ROLE PUBLIC-KEY` lines): comments are whole lines only, because
/// `#` is a Z85 character and occurs in real keys.
@Suite("Keyring file")
struct KeyringFileTests {
    /// A valid Z85 public key that contains `#` (found the hard way: a parser that cut lines at `#`
    /// truncated it).
    static func keyContainingHash() throws -> String {
        for _ in 0..<10_000 {
            let key = try CurveKeyPair.generate().publicKey
            if key.contains("#") { return key }
        }
        Issue.record("no key with # in 10 000 tries")
        return try CurveKeyPair.generate().publicKey
    }

    @Test("a key containing # is read whole; whole-line comments and blank lines are skipped")
    func hashInsideKey() throws {
        let hashed = try Self.keyContainingHash()
        let other = try CurveKeyPair.generate().publicKey
        let text = "# the cluster's keys\n\n  # indented comment\na monitor \(hashed)\nclient.admin\twrite   \(other)\n"
        let identities = try KeyringFile.parse(text)
        #expect(identities == [PeerIdentity(name: "a", role: .monitor, credential: hashed),
                               PeerIdentity(name: "client.admin", role: .write, credential: other)])
    }

    @Test("malformed lines are refused with their line number")
    func malformedLines() throws {
        let key = try CurveKeyPair.generate().publicKey
        let cases: [(String, Int, String)] = [
            ("a monitor \(key) # trailing comment", 1, "3 fields"),
            ("\na monitor", 2, "3 fields"),
            ("a admin \(key)", 1, "unknown role"),
            ("a monitor not-a-key", 1, "Z85"),
            ("a monitor \(key)\nb monitor \(key)", 2, "given twice"),
            ("a monitor \(key)\na monitor \(try CurveKeyPair.generate().publicKey)", 2, "named twice"),
        ]
        for (text, line, reason) in cases {
            #expect {
                _ = try KeyringFile.parse(text)
            } throws: { error in
                guard let error = error as? KeyringFile.ParseError else { return false }
                return error.line == line && error.reason.contains(reason)
            }
        }
    }

    @Test("a client may hold several keys under one name (rotation)")
    func clientWithTwoKeys() throws {
        let (old, new) = (try CurveKeyPair.generate().publicKey, try CurveKeyPair.generate().publicKey)
        let identities = try KeyringFile.parse("ops read \(old)\nops read \(new)\n")
        #expect(identities.map(\.credential) == [old, new])
    }

    @Test("replace swaps every key and binding at once, or nothing on a bad key")
    func replace() throws {
        let (a, b) = (try CurveKeyPair.generate().publicKey, try CurveKeyPair.generate().publicKey)
        let address = TransportAddress("tcp://127.0.0.1:7001")
        let keyring = try CurveKeyring(peers: [PeerIdentity(name: "a", role: .monitor, credential: a)], addressKeys: [address: a])
        try keyring.replace(peers: [PeerIdentity(name: "a", role: .monitor, credential: b)], addressKeys: [address: b])
        #expect(keyring.peer(forKey: a) == nil)
        #expect(keyring.peer(forKey: b)?.name == "a")
        #expect(keyring.key(for: address) == b)
        #expect(throws: TransportError.self) {
            try keyring.replace(peers: [PeerIdentity(name: "x", role: .read, credential: "bad")], addressKeys: [:])
        }
        #expect(keyring.peer(forKey: b)?.name == "a", "a refused replacement leaves the keyring as it was")
    }
}
#endif
