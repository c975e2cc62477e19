/// Who an authenticating transport proved a message's sender to be.
///
/// A transport that authenticates its peers (the ZeroMQ transport with CURVE keys) attaches one
/// to every inbound message (``InboundMessage/peer``): the name and role its keyring gives the key
/// the connection was authenticated with. The sender's *address* is only a claim (where to reply);
/// this is the proof. A transport that authenticates nobody (the in-process loopback, ZeroMQ in
/// explicit plaintext mode) attaches none, and the receiver decides what an unauthenticated peer
/// may do.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// What a key allows.
    ///
    /// `monitor` allows everything; `write` and `backup` each allow `read` and their own
    /// requests, not each other's: a backup key can stream the store but not change it, a
    /// write key can change the store but not stream it whole. Check with ``allows(_:)``.
    public enum Role: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Read the store and the cluster's state (status, get, list).
        case read = 1
        /// Also change the store (put, delete).
        case write = 2
        /// A monitor: everything, Paxos, elections and store sync included.
        case monitor = 3
        /// Also stream a consistent snapshot of the store (`monsync snapshot save`): START_CHUNKS
        /// with the BACKUP flag, its CHUNK_REPLYs and ABORT. Never a member of any quorum.
        case backup = 4

        /// Whether a key of this role may make a request that needs `required`.
        public func allows(_ required: Role) -> Bool {
            switch (self, required) {
            case (.monitor, _), (_, .read): true
            case (.write, .write), (.backup, .backup): true
            default: false
            }
        }

        /// `read`, `write`, `monitor` or `backup`.
        public var description: String {
            switch self {
            case .read: "read"
            case .write: "write"
            case .monitor: "monitor"
            case .backup: "backup"
            }
        }

        /// The role named `text` (`read`, `write`, `monitor`, `backup`).
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
