import ArgumentParser
import Foundation
import Logging
import MonSyncCore
import MonSyncMessages
import MonSyncMonitor

/// The options every client command takes: the monitors, a deadline, the output format.
struct ClientOptions: ParsableArguments {
    @OptionGroup(title: "Monitors")
    var cluster: ClusterOptions

    @Option(help: ArgumentHelp("Seconds to wait for a definite answer, across every monitor tried.", valueName: "s"))
    var timeout: Double = 10

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "How much to log (to standard error).")
    var logLevel: LogLevelOption = .error

    func validate() throws {
        guard timeout > 0 && timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds (got \(timeout)).") }
    }

    /// Starts a client on a fresh reply address, runs `body`, and shuts the client down, mapping errors to sentences.
    func withClient<T>(_ body: (MonitorClient, MonMap) async throws -> T) async throws -> T {
        logLevel.bootstrap()
        let logger = Logger(label: "monsync.client")
        return try await UserFacingError.reporting {
            let monmap = try cluster.resolve(allowAnonymous: true)
            let connection = try await ClientEndpoint.startClient(monmap: monmap, registry: Transports.registry(logger: logger),
                                                              options: TransportOptions(sendTimeout: timeout.seconds), logger: logger)
            let result: Result<T, any Error>
            do { result = .success(try await body(connection.client, monmap)) } catch { result = .failure(error) }
            await connection.close()
            return try result.get()
        }
    }

    /// Prints `value` as pretty, key-sorted JSON.
    func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// `monsync put KEY VALUE`.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Set a key of the replicated key-value service (committed through Paxos).",
        discussion: "Example:\n  monsync put color blue --config monmap.conf")

    @Argument(help: "The key.") var key: String
    @Argument(help: "The value (stored as its UTF-8 bytes).") var value: String
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client, monmap in
            let version: UInt64
            do throws(MonitorClientError) { version = try await client.put(key, Array(value.utf8), timeout: options.timeout.seconds) } catch {
                throw UserFacingError.from(error, monmap: monmap, timeout: options.timeout.seconds)
            }
            if options.json {
                try options.printJSON(WriteResult(key: key, version: version))
            } else {
                print("set \(key) (version \(version))")
            }
        }
    }
}

/// `monsync delete KEY`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Remove a key of the replicated key-value service.",
        discussion: "Example:\n  monsync delete color --mon tcp://127.0.0.1:7001")

    @Argument(help: "The key.") var key: String
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client, monmap in
            let version: UInt64
            do throws(MonitorClientError) { version = try await client.delete(key, timeout: options.timeout.seconds) } catch {
                throw UserFacingError.from(error, monmap: monmap, timeout: options.timeout.seconds)
            }
            if options.json {
                try options.printJSON(WriteResult(key: key, version: version))
            } else {
                print("deleted \(key) (version \(version))")
            }
        }
    }
}

/// `monsync get KEY`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print the value of a key (exits 1 when it has none).",
        discussion: "Example:\n  monsync get color --mon tcp://127.0.0.1:7001")

    @Argument(help: "The key.") var key: String
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client, monmap in
            let value: [UInt8]?
            do throws(MonitorClientError) { value = try await client.get(key, timeout: options.timeout.seconds) } catch {
                throw UserFacingError.from(error, monmap: monmap, timeout: options.timeout.seconds)
            }
            guard let value else { throw UserFacingError.keyNotFound(key) }
            if options.json {
                let text = String(validating: value, as: UTF8.self)
                try options.printJSON(ValueResult(key: key, value: text, hex: text == nil ? Printable.hex(value[...]) : nil,
                                                  size: value.count))
            } else if let text = String(validating: value, as: UTF8.self) {
                print(text)
            } else {
                FileHandle.standardOutput.write(Data(value))
            }
        }
    }
}

/// `monsync list [--prefix P]`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the keys of the key-value service (at most 10 000), one a line.",
        discussion: "Example:\n  monsync list --prefix user. --mon tcp://127.0.0.1:7001")

    @Option(help: "Only keys that start with this.") var prefix: String = ""
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client, monmap in
            let keys: [String]
            do throws(MonitorClientError) { keys = try await client.list(prefix: prefix, timeout: options.timeout.seconds) } catch {
                throw UserFacingError.from(error, monmap: monmap, timeout: options.timeout.seconds)
            }
            if options.json { try options.printJSON(keys) } else { for key in keys { print(key) } }
        }
    }
}

/// `monsync status`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Ask every monitor for its state, quorum, leader and Paxos bounds.",
        discussion: """
        Prints one row per monitor (those that did not answer in time say so) and a summary line; \
        exits 1 when no monitor answered.

        Example:
          monsync status --monmap a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002
        """)

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client, monmap in
            let timeout = options.timeout.seconds
            let answers = await withTaskGroup(of: (Int32, MonitorStatus?).self) { group in
                for rank in monmap.ranks { group.addTask { (rank, await client.status(of: rank, timeout: timeout)) } }
                var answers: [Int32: MonitorStatus] = [:]
                for await (rank, status) in group { answers[rank] = status }
                return answers
            }
            guard !answers.isEmpty else {
                throw UserFacingError.unreachable(monitors: monmap.members.map { "\($0.name)=\($0.address)" }, timeout: timeout)
            }
            let rows = monmap.members.map { member in StatusRow(member: member, status: answers[member.rank], monmap: monmap) }
            if options.json {
                try options.printJSON(rows)
            } else {
                print(StatusRow.table(rows))
                print(StatusRow.summary(rows, monmap: monmap))
                if let sync = StatusRow.syncBlock(rows) { print(sync) }
            }
        }
    }
}

/// The JSON answer of `put` and `delete`.
struct WriteResult: Encodable {
    var key: String
    var version: UInt64
}

/// The JSON answer of `get`: the value as text when it is UTF-8, else as hex.
struct ValueResult: Encodable {
    var key: String
    var value: String?
    var hex: String?
    var size: Int
}

/// One monitor's line of `status`.
struct StatusRow: Encodable {
    var name: String
    var rank: Int32
    var address: String
    var answered: Bool
    var state: String?
    var electionEpoch: UInt32?
    var quorum: [String]?
    var leader: String?
    var firstCommitted: UInt64?
    var lastCommitted: UInt64?
    /// The store sync's section, when the monitor reported one.
    var sync: SyncSection?

    init(member: MonitorEntity, status: MonitorStatus?, monmap: MonMap) {
        name = member.name
        rank = member.rank
        address = member.address
        answered = status != nil
        guard let status else { return }
        // A client given bare --mon URLs learns the real names from the answers.
        if !status.name.isEmpty { name = status.name }
        state = "\(status.state)"
        electionEpoch = status.electionEpoch
        quorum = status.quorum.map { monmap.member(rank: $0)?.name ?? "\($0)" }
        leader = status.leader.map { monmap.member(rank: $0)?.name ?? "\($0)" }
        firstCommitted = status.firstCommitted
        lastCommitted = status.lastCommitted
        sync = status.sync.map { SyncSection($0, monmap: monmap) }
    }

    /// The `sync:` block: one line per role with something to show, per monitor; `nil` when none has any.
    static func syncBlock(_ rows: [StatusRow]) -> String? {
        var lines: [String] = []
        for row in rows {
            guard let sync = row.sync else { continue }
            if let r = sync.requester {
                var line = "  \(row.name) requester: \(r.phase)"
                if r.phase != "requesting" && !r.provider.isEmpty { line += " from \(r.providerName ?? r.provider)" }
                line += ", \(r.chunks) chunks, \(r.keys) keys, \(Self.bytes(r.bytes))"
                if r.estimatedBytes > 0 { line += " of ~\(Self.bytes(r.estimatedBytes))" }
                line += " in \(Self.seconds(r.elapsedSeconds))"
                if r.rateBytesPerSecond > 0 { line += ", \(Self.bytes(r.rateBytesPerSecond))/s" }
                if let eta = r.etaSeconds { line += ", eta \(Self.seconds(eta))" }
                let counters = [("provider switches", r.providerSwitches), ("retries", r.retries), ("aborts", r.aborts),
                                ("stale", r.staleMessages), ("corrupt chunks", r.corruptChunks),
                                ("heartbeat timeouts", r.heartbeatTimeouts), ("finish timeouts", r.finishReplyTimeouts)]
                    .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }
                if !counters.isEmpty { line += "; " + counters.joined(separator: ", ") }
                lines.append(line)
            }
            let l = sync.leader
            if l.syncsRunning > 0 || l.trimHeld || l.granted + l.retryAnswers + l.trimTimeouts + l.explicitAborts > 0 {
                lines.append("  \(row.name) leader: \(l.syncsRunning) running, trim \(l.trimHeld ? "held" : "not held"); "
                    + "\(l.granted) granted, \(l.retryAnswers) RETRY answers, \(l.trimTimeouts) trim timeouts, \(l.explicitAborts) aborts")
            }
            let p = sync.provider
            if p.sessionsActive > 0 || p.served + p.refusals > 0 {
                lines.append("  \(row.name) provider: \(p.sessionsActive) active; \(p.served) served, \(p.completed) completed, "
                    + "\(p.chunksSent) chunks, \(Self.bytes(p.bytesSent)) sent, \(p.refusals) refusals")
            }
        }
        return lines.isEmpty ? nil : (["sync:"] + lines).joined(separator: "\n")
    }

    /// `1.5 MiB`, `640 B`.
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `2.3 s`.
    static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }

    /// The rows as an aligned table.
    static func table(_ rows: [StatusRow]) -> String {
        let header = ["NAME", "RANK", "ADDRESS", "STATE", "EPOCH", "QUORUM", "LEADER", "FIRST", "LAST"]
        let cells = rows.map { row -> [String] in
            guard row.answered else { return [row.name, "\(row.rank)", row.address, "no answer", "-", "-", "-", "-", "-"] }
            return [row.name, "\(row.rank)", row.address, row.state ?? "-", row.electionEpoch.map(String.init) ?? "-",
                    (row.quorum ?? []).isEmpty ? "-" : row.quorum!.joined(separator: ","), row.leader ?? "-",
                    row.firstCommitted.map(String.init) ?? "-", row.lastCommitted.map(String.init) ?? "-"]
        }
        let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
        return ([header] + cells).map { line in
            line.enumerated().map { column, cell in
                column == line.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `quorum a,b,c (leader a); 3 of 3 monitors answered`.
    static func summary(_ rows: [StatusRow], monmap: MonMap) -> String {
        let answered = rows.filter(\.answered).count
        let inQuorum = rows.first { $0.answered && !($0.quorum ?? []).isEmpty }
        let quorum = inQuorum.map { "quorum \($0.quorum!.joined(separator: ",")) (leader \($0.leader ?? "-"))" } ?? "no quorum"
        return "\(quorum); \(answered) of \(monmap.count) monitors answered"
    }
}

/// The `sync` object of a `status --json` row.
struct SyncSection: Encodable {
    struct Requester: Encodable {
        var phase: String
        var session: UInt64
        /// The provider's address, and its monitor name when the monmap knows it.
        var provider: String
        var providerName: String?
        var bytes: UInt64
        var keys: UInt64
        var chunks: UInt64
        var estimatedBytes: UInt64
        var elapsedSeconds: Double
        var rateBytesPerSecond: UInt64
        var etaSeconds: Double?
        var providerSwitches: UInt32
        var retries: UInt32
        var aborts: UInt32
        var staleMessages: UInt32
        var corruptChunks: UInt32
        var heartbeatTimeouts: UInt32
        var finishReplyTimeouts: UInt32
    }

    struct Leader: Encodable {
        var syncsRunning: UInt32
        var trimHeld: Bool
        var granted: UInt64
        var retryAnswers: UInt64
        var trimTimeouts: UInt64
        var explicitAborts: UInt64
    }

    struct Provider: Encodable {
        var sessionsActive: UInt32
        var served: UInt64
        var completed: UInt64
        var chunksSent: UInt64
        var bytesSent: UInt64
        var refusals: UInt64
    }

    var requester: Requester?
    var leader: Leader
    var provider: Provider

    init(_ sync: MonitorSyncStatus, monmap: MonMap) {
        requester = sync.requester.map { r in
            Requester(phase: "\(r.phase)", session: r.session, provider: r.provider,
                      providerName: (try? TransportAddress(r.provider)).flatMap { monmap.rank(of: $0) }.flatMap { monmap.member(rank: $0)?.name },
                      bytes: r.bytes, keys: r.keys, chunks: r.chunks, estimatedBytes: r.estimatedBytes,
                      elapsedSeconds: Double(r.elapsedMilliseconds) / 1000, rateBytesPerSecond: r.rate,
                      etaSeconds: r.etaMilliseconds.map { Double($0) / 1000 }, providerSwitches: r.providerSwitches,
                      retries: r.retries, aborts: r.aborts, staleMessages: r.staleMessages, corruptChunks: r.corruptChunks,
                      heartbeatTimeouts: r.heartbeatTimeouts, finishReplyTimeouts: r.finishReplyTimeouts)
        }
        leader = Leader(syncsRunning: sync.leader.syncsRunning, trimHeld: sync.leader.trimHeld, granted: sync.leader.granted,
                        retryAnswers: sync.leader.retryAnswers, trimTimeouts: sync.leader.trimTimeouts,
                        explicitAborts: sync.leader.explicitAborts)
        provider = Provider(sessionsActive: sync.provider.sessionsActive, served: sync.provider.served,
                            completed: sync.provider.completed, chunksSent: sync.provider.chunksSent,
                            bytesSent: sync.provider.bytesSent, refusals: sync.provider.refusals)
    }
}

/// Renders bytes for people.
enum Printable {
    /// Lowercase hex.
    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text
    }

    /// The value as text when it is printable UTF-8, else as hex; at most `limit` bytes, with the full size when cut.
    static func value(_ bytes: [UInt8], limit: Int = 64) -> String {
        let shown = bytes.prefix(limit)
        let cut = bytes.count > limit ? "… (\(bytes.count) bytes)" : ""
        if let text = String(validating: Array(shown), as: UTF8.self),
           text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
            return text.debugDescription + cut
        }
        return "0x" + hex(shown) + cut
    }
}
