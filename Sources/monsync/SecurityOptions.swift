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

    @Option(help: ArgumentHelp("The keys admitted, one `NAME ROLE PUBLIC-KEY` line each (ROLE: monitor, write, read or backup; a line starting with # is a comment); a monitor's NAME is its monmap name.",
                               valueName: "file"))
    var keyring: String?

    @Flag(help: ArgumentHelp("Run ZeroMQ over tcp:// or ipc:// without keys: no authentication, no encryption. Without keys, this flag is required."))
    var insecurePlaintext = false

    /// Whether keys were given.
    var isSecured: Bool { key != nil || keyring != nil }

    /// Checks that plaintext over a network was chosen explicitly: ZeroMQ links to or from
    /// `addresses` that leave the process (tcp://, ipc://) need keys or `--insecure-plaintext`.
    /// In-process addresses (loopback://, inproc://) need neither.
    func checkPlaintextChosen(for addresses: [TransportAddress]) throws {
        if isSecured && insecurePlaintext {
            throw UserFacingError.invalidKeys(detail: "--insecure-plaintext contradicts --key and --keyring: give one or the other")
        }
        let networked = addresses.filter { Self.networkSchemes.contains($0.scheme) }
        if !isSecured && !insecurePlaintext && !networked.isEmpty {
            throw UserFacingError.plaintextNotChosen(addresses: networked.map(\.description))
        }
    }

    /// The schemes whose links leave the process.
    static let networkSchemes: Set<String> = ["tcp", "ipc"]

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
        let entries = try Self.readKeyringEntries(keyring)
        let ring: CurveKeyring
        do { ring = try CurveKeyring(peers: entries, addressKeys: try Self.addressKeys(entries, monmap: monmap, keyringPath: keyring)) } catch let error as UserFacingError {
            throw error
        } catch {
            throw UserFacingError.invalidKeys(detail: "\(keyring): \(error)")
        }
        return ZeroMQSecurity(keyPair: keyPair, keyring: ring)
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

    /// The key each monitor of `monmap` must present at its address: its `monitor` line in the keyring.
    static func addressKeys(_ entries: [PeerIdentity], monmap: MonMap, keyringPath: String) throws -> [TransportAddress: String] {
        var keys: [TransportAddress: String] = [:]
        for member in monmap.members where !MonMap.isAnonymous(member) {
            guard let entry = entries.first(where: { $0.name == member.name && $0.role == .monitor }) else {
                throw UserFacingError.invalidKeys(detail: "\(keyringPath) names no monitor key for \(member.name)")
            }
            keys[try TransportAddress(member.address)] = entry.credential
        }
        return keys
    }

    /// Reads the keyring file again and swaps it into `keyring` whole (SIGHUP): keys added are
    /// admitted from the next handshake, keys removed are refused from then on. A file that cannot
    /// be used (unreadable, malformed, a monitor without its key) changes nothing.
    ///
    /// - Returns: how many keys the keyring now admits.
    func reloadKeyring(into keyring: CurveKeyring, monmap: MonMap) throws -> Int {
        guard let path = self.keyring else { return 0 }
        let entries = try Self.readKeyringEntries(path)
        do { try keyring.replace(peers: entries, addressKeys: try Self.addressKeys(entries, monmap: monmap, keyringPath: path)) } catch let error as UserFacingError {
            throw error
        } catch {
            throw UserFacingError.invalidKeys(detail: "\(path): \(error)")
        }
        return entries.count
    }

    /// The identities the keyring file at `path` admits.
    static func readKeyringEntries(_ path: String) throws -> [PeerIdentity] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw UserFacingError.invalidKeys(detail: "cannot read \(path): \(error.localizedDescription)")
        }
        do { return try KeyringFile.parse(text) } catch {
            throw UserFacingError.invalidKeys(detail: "\(path) \(error)")
        }
    }
    #endif
}
