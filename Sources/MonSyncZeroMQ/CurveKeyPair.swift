#if ZeroMQ
import CZeroMQ
public import MonSyncCore

/// A CURVE key pair (Curve25519), each key as the 40 characters of its Z85 text, as ZeroMQ and
/// `monsync keygen` write them.
public struct CurveKeyPair: Sendable, Hashable {
    /// The public key: shared, named in keyrings and monmaps.
    public let publicKey: String
    /// The secret key: kept by its owner only.
    public let secretKey: String

    /// A fresh key pair from the system's random source.
    ///
    /// - Throws: `TransportError.underlying(_:)` if libzmq was built without CURVE.
    public static func generate() throws(TransportError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41), secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else {
            throw .underlying("zmq_curve_keypair: \(String(cString: zmq_strerror(zmq_errno()))) (libzmq without CURVE?)")
        }
        return CurveKeyPair(publicKey: CurveKeyPair.text(publicText), secretKey: CurveKeyPair.text(secretText))
    }

    /// The key pair whose secret key is `secretKey` (Z85); the public key is derived from it.
    ///
    /// - Throws: `TransportError.invalidCredential(_:)` for text that is not a Z85 key.
    public init(secretKey: String) throws(TransportError) {
        try Self.validate(secretKey)
        var publicText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicText, secretKey) == 0 else {
            throw .invalidCredential("not a CURVE secret key: \(String(cString: zmq_strerror(zmq_errno())))")
        }
        self.publicKey = CurveKeyPair.text(publicText)
        self.secretKey = secretKey
    }

    private init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The text in a NUL-terminated buffer that libzmq filled.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Checks that `key` is the Z85 text of a 32-byte key (40 characters of Z85's alphabet).
    ///
    /// - Throws: `TransportError.invalidCredential(_:)` otherwise.
    public static func validate(_ key: String) throws(TransportError) {
        guard key.utf8.count == 40 else {
            throw .invalidCredential("a CURVE key is 40 Z85 characters, got \(key.utf8.count)")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&bytes, key) != nil else {
            throw .invalidCredential("not Z85 text: \(key.prefix(8))…")
        }
    }
}
#endif
