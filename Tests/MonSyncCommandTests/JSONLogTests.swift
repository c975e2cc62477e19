import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MonSyncTestSupport
import Testing
@testable import monsync

/// `--log-format json`: ``JSONLogHandler``'s lines in process, and a real node whose whole standard
/// error is JSON objects, one per line, with the fields a log shipper reads.
@Suite("JSON logs")
struct JSONLogTests {
    /// The fields every line has, and the levels a line may carry.
    static let fields = ["timestamp", "level", "label", "message", "metadata", "source", "file", "line"]
    static let levels = Set(Logger.Level.allCases.map(\.rawValue))

    /// The object on one line, or `nil` when the line is not one JSON object.
    static func object(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// Whether `text` is `2026-05-04T09:30:12.345Z`.
    static func isTimestamp(_ text: String) -> Bool {
        text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil
    }

    @Test("one line per entry: every field, metadata as nested JSON, text escaped, UTC milliseconds")
    func line() throws {
        var handler = JSONLogHandler(label: "monsync.test", level: .debug, metadataProvider: nil)
        handler[metadataKey: "mon"] = "a"
        let event = LogEvent(level: .warning, message: "a \"quoted\"\nline\twith\u{1} controls and é",
                             metadata: ["peers": ["b", "c"], "sync": ["bytes": "10", "phase": .stringConvertible(42)]],
                             source: "MonSyncMonitor", file: "MonSyncMonitor/Monitor.swift", function: "f()", line: 17)
        // 2001-09-09T01:46:40.123Z
        let text = handler.line(for: event, at: JSONLogHandler.Timestamp(secondsSinceEpoch: 1_000_000_000, milliseconds: 123))
        #expect(text.hasSuffix("}\n") && text.dropLast().firstIndex(of: "\n") == nil, "one line: \(text)")
        let object = try #require(Self.object(text), "\(text)")
        #expect(object["timestamp"] as? String == "2001-09-09T01:46:40.123Z")
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "monsync.test")
        #expect(object["message"] as? String == "a \"quoted\"\nline\twith\u{1} controls and é")
        #expect(object["source"] as? String == "MonSyncMonitor")
        #expect(object["file"] as? String == "MonSyncMonitor/Monitor.swift")
        #expect(object["line"] as? Int == 17)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["mon"] as? String == "a", "the handler's own metadata")
        #expect(metadata["peers"] as? [String] == ["b", "c"])
        #expect((metadata["sync"] as? [String: String]) == ["bytes": "10", "phase": "42"])
        #expect(Self.isTimestamp(JSONLogHandler.Timestamp.now().iso8601))
    }

    #if ZeroMQ
    @Test("a node with --log-format json writes only JSON objects with every field; client commands and their disconnects log no warning")
    func node() async throws {
        let monmap = makeMonmap(["a"])
        let node = try await RunningProcess(["node", "--name", "a", "--monmap", monmap, "--store", "memory", "--log-format", "json",
                                       "--log-level", "debug"] + fastTimers.dropLast(2))
        // Clients that come and go: each is a connection the node sees open and close.
        let put = try await monsync(["put", "color", "blue", "--monmap", monmap, "--timeout", "30", "--log-format", "json", "--log-level", "debug"],
                                    timeout: .seconds(60))
        #expect(put.status == 0, "\(put)")
        for line in put.stderr.split(separator: "\n") {
            #expect(Self.object(String(line)) != nil, "the client's log is JSON too: \(line)")
        }
        for _ in 0..<3 {
            let get = try await monsync(["get", "color", "--monmap", monmap, "--timeout", "30"], timeout: .seconds(60))
            #expect(get.stdout == "blue\n", "\(get)")
        }
        let status = try await monsync(["status", "--monmap", monmap, "--timeout", "30"], timeout: .seconds(60))
        #expect(status.status == 0, "\(status)")
        node.signal(SIGTERM)
        let result = try await node.wait(timeout: .seconds(30))
        #expect(result.status == 0, "\(result)")

        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count > 10, "\(result.stderr)")
        var messages: [String] = []
        for line in lines {
            guard let object = Self.object(line) else {
                Issue.record("not a JSON object: \(line)")
                continue
            }
            for field in Self.fields where object[field] == nil { Issue.record("no \(field): \(line)") }
            #expect((object["timestamp"] as? String).map(Self.isTimestamp) == true, "\(line)")
            #expect((object["level"] as? String).map(Self.levels.contains) == true, "\(line)")
            #expect(object["metadata"] is [String: Any] && object["line"] is Int, "\(line)")
            let level = object["level"] as? String ?? ""
            #expect(!["warning", "error", "critical"].contains(level), "nothing went wrong, yet: \(line)")
            messages.append(object["message"] as? String ?? "")
        }
        #expect(messages.contains("node stopped") && messages.contains("monitor starting"), "\(messages)")
    }
    #endif
}
