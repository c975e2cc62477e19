#if ZeroMQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MonSyncTestSupport
import Testing

/// `put --value-file PATH` and `--value-file -`: any bytes from a file or standard input, within the
/// 16 MiB value limit, against a real node.
@Suite("put --value-file")
struct PutValueFileTests {
    /// The value of `key` as `get --json` reports it: its hex (or UTF-8 text as hex) and size.
    func stored(_ key: String, monmap: String) async throws -> (hex: String, size: Int) {
        let get = try await monsync(["get", key, "--json", "--monmap", monmap, "--timeout", "30"], timeout: .seconds(60))
        let object = try #require((try? JSONSerialization.jsonObject(with: Data(get.stdout.utf8))) as? [String: Any], "\(get)")
        let size = try #require(object["size"] as? Int)
        if let hex = object["hex"] as? String { return (hex, size) }
        let text = try #require(object["value"] as? String)
        return (Array(text.utf8).map { String(format: "%02x", $0) }.joined(), size)
    }

    @Test("bytes from a file and from standard input are stored as they are; over 16 MiB is refused before anything is sent")
    func valueFile() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await NodeCluster(names: ["a"], directory: directory)
            _ = try await cluster.waitForQuorum()
            // Every byte value, NUL and invalid UTF-8 included, a few times over.
            let bytes = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
            let hex = bytes.map { String(format: "%02x", $0) }.joined()
            let file = directory.appendingPathComponent("value.bin")
            try Data(bytes).write(to: file)

            let fromFile = try await cluster.run(["put", "blob", "--value-file", file.path, "--timeout", "30"])
            #expect(fromFile.status == 0 && fromFile.stdout.hasPrefix("set blob (version "), "\(fromFile)")
            #expect(try await stored("blob", monmap: cluster.monmap) == (hex, bytes.count))

            let reversed = directory.appendingPathComponent("reversed.bin")
            try Data(bytes.reversed()).write(to: reversed)
            let fromInput = try await monsync(["put", "piped", "--value-file", "-", "--monmap", cluster.monmap, "--timeout", "30"],
                                              timeout: .seconds(60), standardInput: reversed)
            #expect(fromInput.status == 0, "\(fromInput)")
            #expect(try await stored("piped", monmap: cluster.monmap) == (bytes.reversed().map { String(format: "%02x", $0) }.joined(), bytes.count))

            let empty = try await monsync(["put", "empty", "--value-file", "-", "--monmap", cluster.monmap, "--timeout", "30"], timeout: .seconds(60))
            #expect(empty.status == 0, "an empty standard input is an empty value: \(empty)")
            #expect(try await stored("empty", monmap: cluster.monmap) == ("", 0))

            // One byte over the limit: refused by the client, with the monitors' word for it, exit 64.
            let limit = 16 << 20
            let large = directory.appendingPathComponent("large.bin")
            try Data(count: limit + 1).write(to: large)
            let tooLarge = try await cluster.run(["put", "large", "--value-file", large.path, "--timeout", "30"])
            #expect(tooLarge.status == 64, "\(tooLarge)")
            #expect(tooLarge.errorLines == ["Error: too_large: the value from \(large.path) is \(limit + 1) bytes, over the limit of \(limit) bytes; nothing was sent"],
                    "\(tooLarge)")
            let tooLargePiped = try await monsync(["put", "large", "--value-file", "-", "--monmap", cluster.monmap], timeout: .seconds(60), standardInput: large)
            #expect(tooLargePiped.status == 64, "\(tooLargePiped)")
            #expect(tooLargePiped.errorLines.first?.contains("the value from standard input is") == true, "\(tooLargePiped)")
            let missing = try await monsync(["get", "large", "--monmap", cluster.monmap, "--timeout", "30"], timeout: .seconds(60))
            #expect(missing.status == 1, "nothing was written: \(missing)")

            let unreadable = try await cluster.run(["put", "k", "--value-file", directory.appendingPathComponent("none").path])
            #expect(unreadable.status == 64 && unreadable.stderr.contains("cannot read the value from"), "\(unreadable)")
            let both = try await cluster.run(["put", "k", "v", "--value-file", file.path])
            #expect(both.status == 64 && both.stderr.contains("give the value once"), "\(both)")
            let neither = try await cluster.run(["put", "k"])
            #expect(neither.status == 64 && neither.stderr.contains("give the value: as the VALUE argument, or with --value-file"), "\(neither)")
        }
    }
}
#endif
