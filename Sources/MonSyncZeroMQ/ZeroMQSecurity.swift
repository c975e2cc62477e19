#if ZeroMQ
public import MonSyncCore

/// CURVE authentication and encryption for a ``ZeroMQTransport``: its own key pair, and the
/// keyring of the keys it admits and the keys of the addresses it connects to.
///
/// With it, the transport's ROUTER is a CURVE server that admits only the keyring's keys (a ZAP
/// handler refuses every other key during the handshake), every connection is encrypted, and each
/// inbound message carries the `PeerIdentity` of the key its connection authenticated
/// (`InboundMessage.peer`). A message whose claimed sender address has a key in the keyring
/// (a monitor's) but came with another key is dropped: nobody can speak as a monitor without its
/// secret key. Each outbound DEALER authenticates the peer it connects to by the peer's public key:
/// the keyring's for its address (a monitor), or the key learned from the authenticated messages
/// of whoever sent from that address (a client awaiting a reply).
public struct ZeroMQSecurity: Sendable, Hashable {
    /// This transport's key pair.
    public var keyPair: CurveKeyPair
    /// The keys admitted and the keys of known addresses; shared, and changed in place (a key
    /// added or revoked applies to the next handshake).
    public var keyring: CurveKeyring

    /// Security with `keyPair`, admitting `keyring`'s keys.
    public init(keyPair: CurveKeyPair, keyring: CurveKeyring) {
        self.keyPair = keyPair
        self.keyring = keyring
    }
}

/// The CURVE keys a transport admits, each with the identity it proves, and the key expected at
/// each address known in advance (each monitor's). Thread-safe; shared by reference.
public final class CurveKeyring: Sendable, Hashable {
    private struct Keys {
        var peers: [String: PeerIdentity] = [:]
        var addressKeys: [TransportAddress: String] = [:]
    }

    private let keys = LockedState(Keys())

    /// An empty keyring (it admits nobody).
    public init() {}

    /// A keyring admitting `peers` (each with its Z85 public key as `PeerIdentity.credential`),
    /// `addressKeys` naming the key expected at each address known in advance.
    ///
    /// - Throws: `TransportError.invalidCredential(_:)` for a key that is not Z85, or an address
    ///   whose key no peer has.
    public convenience init(peers: [PeerIdentity], addressKeys: [TransportAddress: String] = [:]) throws(TransportError) {
        self.init()
        for peer in peers { try admit(peer) }
        for (address, key) in addressKeys { try bind(address, to: key) }
    }

    /// Admits `peer`'s key (replacing what the key proved before).
    public func admit(_ peer: PeerIdentity) throws(TransportError) {
        try CurveKeyPair.validate(peer.credential)
        keys.withLock { $0.peers[peer.credential] = peer }
    }

    /// Expects `key` (an admitted one) at `address`: messages from that address must come with it,
    /// and connections to it authenticate it.
    public func bind(_ address: TransportAddress, to key: String) throws(TransportError) {
        try keys.withLock { (keys) throws(TransportError) in
            guard keys.peers[key] != nil else { throw .invalidCredential("the key for \(address) is not admitted") }
            keys.addressKeys[address] = key
        }
    }

    /// Stops admitting `key` (already open connections stay until they close).
    public func revoke(_ key: String) {
        keys.withLock { keys in
            keys.peers[key] = nil
            keys.addressKeys = keys.addressKeys.filter { $0.value != key }
        }
    }

    /// Replaces every admitted key and every address binding at once (a keyring file reloaded):
    /// a handshake sees either the old keyring or the new one, never a mix.
    ///
    /// Connections already authenticated with a key that is no longer admitted stay open until
    /// they close, as with ``revoke(_:)``.
    /// - Throws: `TransportError.invalidCredential(_:)` as ``init(peers:addressKeys:)`` does; the
    ///   keyring is then unchanged.
    public func replace(peers: [PeerIdentity], addressKeys: [TransportAddress: String]) throws(TransportError) {
        var replacement = Keys()
        for peer in peers {
            try CurveKeyPair.validate(peer.credential)
            replacement.peers[peer.credential] = peer
        }
        for (address, key) in addressKeys {
            guard replacement.peers[key] != nil else { throw .invalidCredential("the key for \(address) is not admitted") }
            replacement.addressKeys[address] = key
        }
        keys.withLock { $0 = replacement }
    }

    /// The identities admitted, in no particular order.
    public var admitted: [PeerIdentity] { keys.withLock { Array($0.peers.values) } }

    /// The identity `key` proves, if admitted.
    public func peer(forKey key: String) -> PeerIdentity? { keys.withLock { $0.peers[key] } }

    /// The key expected at `address`, if it is known in advance.
    public func key(for address: TransportAddress) -> String? { keys.withLock { $0.addressKeys[address] } }

    public static func == (lhs: CurveKeyring, rhs: CurveKeyring) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
#endif
