import ArgumentParser
import Foundation
import MonSyncCore
import MonSyncMonitor
#if ZeroMQ
import MonSyncZeroMQ
#endif

/// `--key` and `--keyring`: CURVE authentication and encryption of every ZeroMQ link.
///
/// With both, this process's ZeroMQ links are encrypted, and it talks only to the keyring's keys:
/// a monitor admits clients by their keys and roles, and monitors by theirs; a client
/// authenticates the monitors it reaches. See docs/SECURITY.md.
struct SecurityOptions: ParsableArguments {
    @Option(help: ArgumentHelp("This process's CURVE secret key: a file written by `monsync keygen` (the .key file).",
                               valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The keys admitted, one `NAME ROLE PUBLIC-KEY` line each (ROLE: monitor, write or read; a line starting with # is a comment); a monitor's NAME is its monmap name.",
                               valueName: "file"))
    var keyring: String?

    /// Whether keys were given.
    var isSecured: Bool { key != nil || keyring != nil }

    #if ZeroMQ
    /// The ZeroMQ security the options describe, with each monitor of `monmap` bound to its key;
    /// `nil` without keys (plaintext).
    func security(monmap: MonMap) throws -> ZeroMQSecurity? {
        guard isSecured else { return nil }
        guard let key, let keyring else {
            throw UserFacingError.invalidKeys(detail: "--key and --keyring go together: a secured process needs its own secret key and the keys it admits")
        }
        let keyPair: CurveKeyPair
        do { keyPair = try CurveKeyPair(secretKey: try Self.readKey(key)) } catch let error as UserFacingError { throw error } catch {
            throw UserFacingError.invalidKeys(detail: "\(key): \(error)")
        }
        let ring = try Self.readKeyring(keyring)
        for member in monmap.members where !MonMap.isAnonymous(member) {
            guard let entry = ring.entries.first(where: { $0.name == member.name && $0.role == .monitor }) else {
                throw UserFacingError.invalidKeys(detail: "\(keyring) names no monitor key for \(member.name)")
            }
            do { try ring.keyring.bind(try TransportAddress(member.address), to: entry.credential) } catch {
                throw UserFacingError.invalidKeys(detail: "\(keyring): \(error)")
            }
        }
        return ZeroMQSecurity(keyPair: keyPair, keyring: ring.keyring)
    }

    /// The first line of a key file (Z85 text), checked.
    static func readKey(_ path: String) throws -> String {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw UserFacingError.invalidKeys(detail: "cannot read \(path): \(error.localizedDescription)")
        }
        let key = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        do { try CurveKeyPair.validate(key) } catch { throw UserFacingError.invalidKeys(detail: "\(path): \(error)") }
        return key
    }

    /// The keyring file: `NAME ROLE PUBLIC-KEY` per line; lines starting with `#` are comments.
    static func readKeyring(_ path: String) throws -> (keyring: CurveKeyring, entries: [PeerIdentity]) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw UserFacingError.invalidKeys(detail: "cannot read \(path): \(error.localizedDescription)")
        }
        var entries: [PeerIdentity] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: \.isWhitespace)
            // A comment is a whole line: `#` is one of Z85's characters, so it may occur in a key.
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count == 3, let role = PeerIdentity.Role(fields[1]) else {
                throw UserFacingError.invalidKeys(detail: "\(path) line \(number + 1) is not `NAME ROLE PUBLIC-KEY` with ROLE monitor, write or read")
            }
            entries.append(PeerIdentity(name: String(fields[0]), role: role, credential: String(fields[2])))
        }
        do { return (try CurveKeyring(peers: entries), entries) } catch {
            throw UserFacingError.invalidKeys(detail: "\(path): \(error)")
        }
    }
    #endif
}
