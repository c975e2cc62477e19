/// Turns messages into frames and frames back into messages: the one codec every transport shares.
///
/// The codec is a registry keyed by ``MessageType``: each ``WireMessage`` type is
/// registered once, and any registered type travels in the same ``Frame``. An
/// unregistered type is refused with ``DecodeError/unknownMessageType(_:)``.
///
/// ```swift
/// var codec = MessageCodec()          // an empty registry (MonSync's: MessageCodec.monitor())
/// codec.register(MyProbe.self)        // each message type plugs in here
/// let bytes = codec.encode(message)
/// let decoded = try codec.decode(bytes)
/// ```
public struct MessageCodec: Sendable {
    /// The largest payload accepted on decode; a frame announcing more is refused before anything is buffered.
    public var maximumPayloadSize: Int

    private struct Entry: Sendable {
        var name: String
        var headVersion: UInt8
        var decode: @Sendable (inout WireDecoder, UInt8) throws(DecodeError) -> any WireMessage
    }

    private var entries: [MessageType: Entry] = [:]

    /// A codec with no message type registered (MonSync's messages: `MessageCodec.monitor()`,
    /// in MonSyncMessages).
    ///
    /// - Parameter maximumPayloadSize: the decode limit; 64 MiB by default.
    public init(maximumPayloadSize: Int = Frame.defaultMaximumPayloadSize) {
        self.maximumPayloadSize = maximumPayloadSize
    }

    /// Adds `type` to the registry, replacing an earlier registration of the same message type.
    public mutating func register<M: WireMessage>(_ type: M.Type) {
        entries[M.messageType] = Entry(name: M.name, headVersion: M.headVersion) {
            (decoder: inout WireDecoder, version: UInt8) throws(DecodeError) -> any WireMessage in
            try M(decodingPayload: &decoder, version: version)
        }
    }

    /// The message types this codec can decode.
    public var registeredTypes: [MessageType] { entries.keys.sorted() }

    /// The registered name of `type`, for logs.
    public func name(of type: MessageType) -> String? { entries[type]?.name }

    /// Encodes `message` as one complete frame.
    public func encode<M: WireMessage>(_ message: M) -> [UInt8] {
        Frame.encode(type: M.messageType, version: M.headVersion, compatVersion: M.compatVersion,
                     payloadCapacity: message.payloadSizeHint) {
            message.encodePayload(into: &$0)
        }
    }

    /// Encodes a message whose concrete type is not known statically.
    public func encode(any message: any WireMessage) -> [UInt8] {
        func open<M: WireMessage>(_ m: M) -> [UInt8] { encode(m) }
        return open(message)
    }

    /// Decodes exactly one frame.
    ///
    /// Byte-blob fields of the result share storage with `bytes`, so large chunks are not copied.
    /// - Throws: ``DecodeError`` naming the problem; never traps, whatever the input.
    public func decode(_ bytes: [UInt8]) throws(DecodeError) -> any WireMessage {
        try decode(bytes[...])
    }

    /// Decodes exactly one frame from a slice.
    public func decode(_ bytes: ArraySlice<UInt8>) throws(DecodeError) -> any WireMessage {
        let (header, payload) = try Frame.decode(bytes, maximumPayloadSize: maximumPayloadSize)
        return try decodePayload(header: header, payload: payload)
    }

    /// Decodes a payload whose frame has already been checked (used by stream decoders).
    public func decodePayload(header: Frame.Header, payload: ArraySlice<UInt8>) throws(DecodeError) -> any WireMessage {
        guard let entry = entries[header.type] else { throw .unknownMessageType(header.type) }
        if header.compatVersion > entry.headVersion {
            throw .unsupportedVersion(what: entry.name, compat: header.compatVersion, supported: entry.headVersion)
        }
        var decoder = WireDecoder(payload)
        let message = try entry.decode(&decoder, header.version)
        // A sender at our version or older wrote nothing we do not know: leftovers are corruption.
        // A newer sender may append fields; skip them, as Ceph's decoders do.
        if header.version <= entry.headVersion { try decoder.expectEnd() }
        return message
    }
}
