import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if ZeroMQ
import MonSyncZeroMQ
#endif

/// `monsync keygen`: a CURVE key pair for a monitor or a client, in Z85 text.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a CURVE key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub (public).",
        discussion: """
        Give the .key file to the process it belongs to (--key), and put the public key in the \
        cluster's keyring file (--keyring) with a name and a role: `a monitor KEY` for monitor a, \
        `client.admin write KEY`, `client.viewer read KEY`. The public key is also printed.
        """)

    @Option(help: ArgumentHelp("Where to write: PREFIX.key and PREFIX.pub.", valueName: "prefix"))
    var out: String

    @Flag(help: "Replace existing files.")
    var force = false

    func run() throws {
        #if ZeroMQ
        let keyPair = try CurveKeyPair.generate()
        let secretPath = out + ".key", publicPath = out + ".pub"
        for path in [secretPath, publicPath] where !force && FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) exists; pass --force to replace it")
        }
        try write(keyPair.secretKey + "\n", to: secretPath, mode: 0o600)
        try write(keyPair.publicKey + "\n", to: publicPath, mode: 0o644)
        print(keyPair.publicKey)
        #else
        throw ValidationError("this monsync was built without ZeroMQ (and its CURVE keys)")
        #endif
    }

    /// Writes `text` to a file created with `mode` (never readable by others first, then narrowed).
    private func write(_ text: String, to path: String, mode: mode_t) throws {
        unlink(path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw ValidationError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        fchmod(descriptor, mode)  // whatever the umask
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
            throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
