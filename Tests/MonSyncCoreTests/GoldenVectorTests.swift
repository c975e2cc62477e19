import Foundation
import MonSyncCore
import MonSyncMessages
import Testing

/// The committed bytes of every canonical message. A change to the wire format fails here first.
///
/// To regenerate after an intended format change (and then update PROTOCOL.md):
/// `MONSYNC_UPDATE_GOLDEN=1 swift test --filter GoldenVectorTests`
@Suite("Golden byte vectors")
struct GoldenVectorTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("GoldenVectors")
    let codec = MessageCodec.monitor()

    @Test("each canonical message encodes to its committed bytes and decodes back",
          arguments: MessageSamples.canonical.map(\.name))
    func vector(name: String) throws {
        let message = MessageSamples.canonical.first { $0.name == name }!.message
        let encoded = codec.encode(message)
        let file = Self.directory.appendingPathComponent("mmonsync_\(name).bin")
        if ProcessInfo.processInfo.environment["MONSYNC_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(encoded).write(to: file)
        }
        let golden = try [UInt8](Data(contentsOf: file))
        #expect(encoded == golden, "encoding of \(name) changed; see PROTOCOL.md before updating the vector")
        #expect(try codec.decode(golden) as? MMonSync == message)
    }

    @Test("the heartbeat vector is byte for byte the example in PROTOCOL.md")
    func protocolExample() throws {
        let golden = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent("mmonsync_heartbeat.bin")))
        let hex = golden.map { String(format: "%02x", $0) }.joined(separator: " ")
        let protocolText = try String(contentsOf: Self.directory.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("PROTOCOL.md"), encoding: .utf8)
        // PROTOCOL.md lists the example as "hex bytes | meaning" lines between two markers.
        let lines = protocolText.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "<!-- example:heartbeat -->"))
        let end = try #require(lines.firstIndex(of: "<!-- /example -->"))
        let documented = lines[(start + 1)..<end]
            .compactMap { $0.components(separatedBy: "|").first?.trimmingCharacters(in: .whitespaces) }
        #expect(documented.joined(separator: " ") == hex)
    }
}
