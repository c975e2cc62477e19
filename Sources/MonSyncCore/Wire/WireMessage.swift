/// A message that travels in a MonSync ``Frame``.
///
/// Conform a type to add a new message to the protocol; register it with a
/// ``MessageCodec`` and handlers for it with a ``MessageRouter``. Neither the
/// dispatcher nor any transport needs to change.
///
/// The payload layout follows Ceph's messages: the fields of version 1 in order,
/// then each later version's fields appended. The frame carries the sender's
/// ``headVersion`` and ``compatVersion``; the decoder reads the fields that the
/// sender's version has, refuses data whose compat version is newer than it
/// understands, and skips trailing fields from a newer sender.
public protocol WireMessage: Sendable {
    /// The frame type that identifies this message on the wire.
    static var messageType: MessageType { get }
    /// The payload version this implementation writes.
    static var headVersion: UInt8 { get }
    /// The oldest payload version a reader must understand to decode what this implementation writes.
    static var compatVersion: UInt8 { get }
    /// A human-readable name for logs (`"mon_sync"`).
    static var name: String { get }

    /// The sub-route the dispatcher uses after the message type (MMonSync's op), or `nil`.
    var routingKey: UInt32? { get }

    /// Writes the payload (without the frame).
    func encodePayload(into encoder: inout WireEncoder)

    /// About how many bytes ``encodePayload(into:)`` writes, so the frame is allocated
    /// once at the right size: a 1 MiB chunk would otherwise be copied through a dozen
    /// doublings, each touching fresh pages. The default suits small messages.
    var payloadSizeHint: Int { get }

    /// Reads a payload written by a sender at payload version `version`.
    ///
    /// - Throws: ``DecodeError`` for any malformed or invalid field. Never traps.
    init(decodingPayload decoder: inout WireDecoder, version: UInt8) throws(DecodeError)

    /// Checks invariants that decoding enforces (valid flags for the op, …) before a send,
    /// so a node never puts on the wire what its peers would refuse.
    func validate() throws(DecodeError)
}

extension WireMessage {
    public var routingKey: UInt32? { nil }
    public var payloadSizeHint: Int { 256 }
    public static var compatVersion: UInt8 { 1 }
    public func validate() throws(DecodeError) {}
}
