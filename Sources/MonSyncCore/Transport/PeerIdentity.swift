/// Who an authenticating transport proved a message's sender to be.
///
/// A transport that authenticates its peers (the ZeroMQ transport with CURVE keys) attaches one
/// to every inbound message (``InboundMessage/peer``): the name and role its keyring gives the key
/// the connection was authenticated with. The sender's *address* is only a claim (where to reply);
/// this is the proof. A transport that authenticates nobody (the in-process loopback, ZeroMQ in
/// explicit plaintext mode) attaches none, and the receiver decides what an unauthenticated peer
/// may do.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// What a key allows, each role including the ones before it.
    public enum Role: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
        /// Read the store and the cluster's state (status, get, list).
        case read = 1
        /// Also change the store (put, delete).
        case write = 2
        /// A monitor: everything, Paxos, elections and store sync included.
        case monitor = 3

        public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

        /// `read`, `write` or `monitor`.
        public var description: String {
            switch self {
            case .read: "read"
            case .write: "write"
            case .monitor: "monitor"
            }
        }

        /// The role named `text` (`read`, `write`, `monitor`).
        public init?(_ text: some StringProtocol) {
            guard let role = Self.allCases.first(where: { $0.description == text }) else { return nil }
            self = role
        }
    }

    /// The key's owner, as the keyring names it (a monitor's name, `client.admin`, …).
    public var name: String
    /// What the key allows.
    public var role: Role
    /// The credential the transport authenticated (for CURVE, the Z85 text of the public key).
    public var credential: String

    /// An identity.
    public init(name: String, role: Role, credential: String) {
        self.name = name
        self.role = role
        self.credential = credential
    }

    /// `name (role)`.
    public var description: String { "\(name) (\(role))" }
}
