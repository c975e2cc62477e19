#if ZeroMQ
public import MonSyncCore

/// The keyring file format: one `NAME ROLE PUBLIC-KEY` line per admitted key.
///
/// `ROLE` is `monitor`, `write`, `read` or `backup` (`PeerIdentity.Role`); a monitor's `NAME` is its monmap
/// name. Blank lines are skipped, and so is a line whose first field starts with `#` — a comment is
/// a whole line only: `#` is one of Z85's characters, so a key may contain it, and a trailing
/// `# …` after a key would make the line four fields (refused) rather than silently cutting the key.
///
/// ```
/// # monitors
/// a monitor rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
/// client.admin write Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID
/// ```
public enum KeyringFile {
    /// A line that is not `NAME ROLE PUBLIC-KEY`, or a key that is not Z85.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The line, counted from 1.
        public let line: Int
        /// What is wrong with it.
        public let reason: String

        public var description: String { "line \(line): \(reason)" }
    }

    /// The identities `text` admits, in file order.
    ///
    /// - Throws: ``ParseError`` for the first line that is not a comment, blank, or a valid
    ///   `NAME ROLE PUBLIC-KEY`, for a key given twice and for a monitor named twice.
    public static func parse(_ text: String) throws(ParseError) -> [PeerIdentity] {
        var identities: [PeerIdentity] = []
        var monitors: Set<String> = [], keys: Set<String> = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let fields = line.split(whereSeparator: \.isWhitespace)
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count == 3 else {
                throw ParseError(line: number, reason: "expected `NAME ROLE PUBLIC-KEY` (3 fields), found \(fields.count)")
            }
            guard let role = PeerIdentity.Role(fields[1]) else {
                throw ParseError(line: number, reason: "unknown role '\(fields[1])' (monitor, write, read or backup)")
            }
            let name = String(fields[0]), key = String(fields[2])
            do { try CurveKeyPair.validate(key) } catch {
                throw ParseError(line: number, reason: "the key of \(name) is not a Z85 CURVE public key (40 characters)")
            }
            // A monitor's name binds its address to one key; a client may hold several (rotation).
            guard role != .monitor || monitors.insert(name).inserted else {
                throw ParseError(line: number, reason: "monitor \(name) is named twice")
            }
            guard keys.insert(key).inserted else { throw ParseError(line: number, reason: "the key of \(name) is given twice") }
            identities.append(PeerIdentity(name: name, role: role, credential: key))
        }
        return identities
    }
}
#endif
