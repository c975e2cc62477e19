import ArgumentParser
import Foundation
import Logging
import MonSyncCore
import MonSyncHealth
import MonSyncMessages
import MonSyncMonitor

/// The options every client command takes: the monitors, a deadline, the output format.
struct ClientOptions: ParsableArguments {
    @OptionGroup(title: "Monitors")
    var cluster: ClusterOptions

    @Option(help: ArgumentHelp("Seconds to wait for a definite answer, across every monitor tried.", valueName: "s"))
    var timeout: Double = 10

    @Option(help: ArgumentHelp(
        "Seconds one attempt waits for a monitor before the client asks every monitor at once (a first attempt with no monitor known to answer asks them all at once anyway).",
        valueName: "s"))
    var attemptTimeout: Double = 1

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "How much to log (to standard error).")
    var logLevel: LogLevelOption = .error

    @Option(help: "How to write the log: text lines, or one JSON object per line.")
    var logFormat: LogFormatOption = .text

    func validate() throws {
        guard timeout > 0 && timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds (got \(timeout)).") }
        guard attemptTimeout > 0 && attemptTimeout <= 3600 else {
            throw ValidationError("--attempt-timeout must be between 0 and 3600 seconds (got \(attemptTimeout)).")
        }
    }

    /// Starts a client on a fresh reply address, runs `body`, and shuts the client down. A failure is
    /// printed as one sentence on standard error and the process exits with its ``ClientExitCode``.
    ///
    /// - Parameters:
    ///   - clientID: the client id to write as (random when `nil`).
    ///   - body: the command's work, given the started client and the monmap it asks.
    func withClient<T>(clientID: UInt64? = nil, _ body: (MonitorClient, MonMap) async throws -> T) async throws -> T {
        logLevel.bootstrap(format: logFormat)
        let logger = Logger(label: "monsync.client")
        do {
            return try await UserFacingError.reporting {
                let monmap = try cluster.resolve(allowAnonymous: true)
                let connection = try await ClientEndpoint.startClient(
                    monmap: monmap, registry: try Transports.registry(logger: logger, cluster: cluster, monmap: monmap), options: TransportOptions(sendTimeout: timeout.seconds),
                    logger: logger, attemptTimeout: attemptTimeout.seconds, clientID: clientID)
                let result: Result<T, any Error>
                do { result = .success(try await body(connection.client, monmap)) } catch { result = .failure(error) }
                await connection.close()
                return try result.get()
            }
        } catch let error as UserFacingError {
            throw Self.report(error)
        }
    }

    /// Prints `error` as one sentence on standard error; the exit status that goes with it.
    static func report(_ error: UserFacingError) -> ExitCode {
        let code = error.clientExitCode
        let label = code == .incomplete ? "Note" : "Error"
        FileHandle.standardError.write(Data("\(label): \(error)\n".utf8))
        return code.exitCode
    }

    /// Prints `value` as pretty, key-sorted JSON.
    func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Refuses, before anything is sent, a command no monitor would serve (the same check the monitors make).
    static func check(_ command: MMonCommand) throws {
        if let (_, message) = command.requestError { throw ValidationError(message) }
    }
}

/// `monsync put KEY VALUE`.
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Set a key of the replicated key-value service (committed through Paxos).",
        discussion: """
        Exits 0 when committed; 4 when the outcome is unknown (resend with the --client-id and --tid the \
        message gives: applied at most once); 2 when nothing was applied for want of a quorum; see docs/CLI.md.

        The value is the VALUE argument's UTF-8 bytes, or the bytes of a file (--value-file PATH) or \
        of standard input (--value-file -), read as they are: any bytes, up to 16 MiB.

        Examples:
          monsync put color blue --config monsync.json
          monsync put backup.tar --value-file backup.tar --config monsync.json
          head -c 1024 /dev/urandom | monsync put noise --value-file - --mon tcp://127.0.0.1:7001
        """)

    @Argument(help: "The key (1 to 1024 bytes).") var key: String
    @Argument(help: "The value (stored as its UTF-8 bytes; at most 16 MiB); or give --value-file.") var value: String?
    @Option(help: ArgumentHelp("Read the value from this file, byte for byte, instead of VALUE ('-': standard input); at most 16 MiB.",
                               valueName: "path"))
    var valueFile: String?
    @OptionGroup var options: ClientOptions
    @OptionGroup(title: "Resending a write") var write: WriteOptions

    func validate() throws {
        _ = try ValueInput(argument: value, file: valueFile)
        try ClientOptions.check(MMonCommand(op: .put, clientID: 1, tid: 1, key: key, value: Array((value ?? "").utf8)))
    }

    func run() async throws {
        // Read before any monitor is contacted: a value that cannot be sent costs no connection.
        let bytes: [UInt8]
        let input = try ValueInput(argument: value, file: valueFile)
        do throws(UserFacingError) { bytes = try input.read() } catch { throw ClientOptions.report(error) }
        try await options.withClient(clientID: write.clientID) { client, monmap in
            let version: UInt64
            let tid = write.tid ?? client.nextTid()
            do throws(MonitorClientError) { version = try await client.put(key, bytes, tid: tid, timeout: options.timeout.seconds) } catch {
                throw UserFacingError.from(error, monmap: monmap, timeout: options.timeout.seconds,
                                           write: ("put \(UserFacingError.quoted(key))", client.clientID))
            }
            if options.json {
                try options.printJSON(WriteResult(key: key, version: version))
            } else {
                print("set \(key) (\(version == 0 ? "already applied" : "version \(version)"))")
            }
        }
    }
}

/// `monsync delete KEY`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Remove a key of the replicated key-value service.",
        discussion: """
        Exits like put (0 done, 4 outcome unknown, …; docs/CLI.md).

        Example:
          monsync delete color --mon tcp://127.0.0.1:7001
        """)

    @Argument(help: "The key.") var key: String
    @OptionGroup var options: ClientOptions
    @OptionGroup(title: "Resending a write") var write: WriteOptions

    func validate() throws {
        try ClientOptions.check(MMonCommand(op: .delete, clientID: 1, tid: 1, key: key))
    }

    func run() async throws {
        try await options.withClient(clientID: write.clientID) { client, monmap in
            let version: UInt64
            let tid = write.tid ?? client.nextTid()
            do throws(MonitorClientError) { version = try await client.delete(key, tid: tid, timeout: options.timeout.seconds) } catch {
                throw UserFacingError.from(error, monmap: monmap, timeout: options.timeout.seconds,
                                           write: ("delete \(UserFacingError.quoted(key))", client.clientID))
            }
            if options.json {
                try options.printJSON(WriteResult(key: key, version: version))
            } else {
                print("deleted \(key) (\(version == 0 ? "already applied" : "version \(version)"))")
            }
        }
    }
}

/// `monsync get KEY`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print the value of a key (exits 1 when it has none).",
        discussion: """
        Exits 0 with the value; 1 when the key has none; 3 when no monitor answered; 2 when they \
        answered without a quorum (docs/CLI.md).

        Example:
          monsync get color --mon tcp://127.0.0.1:7001
        """)

    @Argument(help: "The key.") var key: String
    @OptionGroup var options: ClientOptions

    func validate() throws {
        try ClientOptions.check(MMonCommand(op: .get, clientID: 1, tid: 1, key: key))
    }

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

/// `monsync list [--prefix P] [--after K] [--limit N]`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the keys of the key-value service, one a line, ascending.",
        discussion: """
        Without --limit it lists every key, fetching page after page (a monitor answers at most 10 000 \
        keys at a time); with --limit N it stops after N keys and, when more follow, says so on \
        standard error and exits 6: continue with --after and the last key printed.

        Example:
          monsync list --prefix user. --mon tcp://127.0.0.1:7001
          monsync list --limit 1000 --after user.0999 --config monsync.json
        """)

    @Option(help: "Only keys that start with this.") var prefix: String = ""
    @Option(help: ArgumentHelp("Only keys after this one (bytewise): the last key of the previous page.", valueName: "key"))
    var after: String = ""
    @Option(help: ArgumentHelp("At most this many keys (exit 6 when more follow); every key when absent.", valueName: "n"))
    var limit: Int?
    @OptionGroup var options: ClientOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit)).") }
        try ClientOptions.check(MMonCommand(op: .list, clientID: 1, tid: 1, key: prefix, after: after))
    }

    func run() async throws {
        try await options.withClient { client, monmap in
            let timeout = options.timeout.seconds
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var listed: [String] = []
            var count = 0
            var cursor = after
            var more = true
            // Page after page, each printed as it comes, all within --timeout.
            while more && count < (limit ?? Int.max) {
                let want = UInt32(clamping: (limit ?? Int.max) - count)
                let page: (keys: [String], more: Bool)
                do throws(MonitorClientError) {
                    page = try await client.list(prefix: prefix, after: cursor, limit: limit == nil ? 0 : want,
                                                 timeout: max(.milliseconds(1), clock.now.duration(to: deadline)))
                } catch {
                    throw UserFacingError.from(error, monmap: monmap, timeout: timeout)
                }
                if options.json { listed += page.keys } else { for key in page.keys { print(key) } }
                count += page.keys.count
                more = page.more
                if let last = page.keys.last { cursor = last }
            }
            if options.json { try options.printJSON(listed) }
            if more { throw UserFacingError.listIncomplete(count: count, last: cursor) }
        }
    }
}

/// `monsync status`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Ask every monitor for its state, quorum, leader and Paxos bounds.",
        discussion: """
        Prints one row per monitor, named and ranked as the monitors themselves report (those that did \
        not answer say so), a summary line and the health (as `monsync health` reports it). With --json, \
        one object: health, monmap, quorum, leader, syncs, and the rows under "monitors". Exits 0 when \
        a monitor is in a quorum, 2 when monitors answered but none is, 3 when none answered.

        Example:
          monsync status --monmap a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002
        """)

    @OptionGroup var options: ClientOptions
    @OptionGroup(title: "Health checks") var healthOptions: HealthOptions

    func run() async throws {
        try await options.withClient { client, monmap in
            let timeout = options.timeout.seconds
            let survey = await client.survey(timeout: timeout, attemptTimeout: options.attemptTimeout.seconds)
            guard !survey.replies.isEmpty else {
                throw UserFacingError.unreachable(monitors: monmap.described, timeout: timeout)
            }
            let view = ClusterView(survey, monmap: monmap, thresholds: healthOptions.thresholds)
            let rows = view.rows
            if options.json {
                try options.printJSON(StatusSummary(view))
            } else {
                print(StatusRow.table(rows))
                print(StatusRow.summary(rows, epoch: survey.clusterMonmap?.epoch))
                print("health: \(view.report.summaryLine)")
                if let sync = StatusRow.syncBlock(rows) { print(sync) }
            }
            guard rows.contains(where: \.inQuorum) else {
                throw UserFacingError.noQuorum(answered: rows.filter(\.answered).count, of: rows.count)
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

/// One monitor's line of `status`: its name, rank, quorum and leader as the monitor itself reports them.
struct StatusRow: Encodable {
    var name: String
    /// The rank in the cluster's monmap; `nil` for an address no monitor's monmap lists.
    var rank: Int32?
    var address: String
    var answered: Bool
    var state: String?
    var electionEpoch: UInt32?
    /// The epoch of the monmap the monitor runs with (absent from monitors that predate it).
    var monmapEpoch: UInt32?
    var quorum: [String]?
    var leader: String?
    var firstCommitted: UInt64?
    var lastCommitted: UInt64?
    /// The store sync's section, when the monitor reported one.
    var sync: SyncSection?
    /// The monitor's store usage and sync idle time, when it reported them.
    var vitals: Vitals?

    /// The `vitals` object of a row.
    struct Vitals: Encodable {
        var storeBytes: UInt64
        var filesystemBytes: UInt64
        var filesystemAvailableBytes: UInt64
        /// Seconds since the running sync last advanced (0 without one).
        var syncIdleSeconds: Double
    }

    /// Whether this monitor answered and is in a quorum.
    var inQuorum: Bool { answered && !(quorum ?? []).isEmpty && (state == "leader" || state == "peon") }

    /// A row for a monitor that answered: everything from its own reply. Quorum members and the
    /// leader are named through the monitor's own monmap, then the cluster's.
    init(address: String, reply: MMonCommandReply, cluster: [MonitorEntity]) {
        let status = reply.status
        func named(_ rank: Int32) -> String {
            reply.monmap.first { $0.rank == rank }?.name ?? cluster.first { $0.rank == rank }?.name ?? "\(rank)"
        }
        let listed = cluster.first { Self.entity($0, isAt: address) }
        self.address = address
        name = status.name.isEmpty ? (listed?.name ?? "?") : status.name
        rank = status.rank >= 0 ? status.rank : listed?.rank
        answered = true
        state = "\(status.state)"
        electionEpoch = status.electionEpoch
        monmapEpoch = reply.monmapEpoch == 0 ? nil : reply.monmapEpoch
        quorum = status.quorum.map(named)
        leader = status.leader.map(named)
        firstCommitted = status.firstCommitted
        lastCommitted = status.lastCommitted
        // Names in the sync section come from the monitor's monmap too.
        let members = reply.monmap.isEmpty ? cluster : reply.monmap
        sync = status.sync.map { SyncSection($0, members: members) }
        vitals = status.vitals.map {
            Vitals(storeBytes: $0.storeBytes, filesystemBytes: $0.filesystemBytes,
                   filesystemAvailableBytes: $0.filesystemAvailableBytes, syncIdleSeconds: Double($0.syncIdleMilliseconds) / 1000)
        }
    }

    /// A row for a monitor that did not answer, named by the cluster's monmap when it lists the
    /// address, else by the client's own (`?` for a bare `--mon` URL).
    init(address: String, cluster: [MonitorEntity], monmap: MonMap) {
        self.address = address
        answered = false
        if let member = cluster.first(where: { Self.entity($0, isAt: address) }) {
            name = member.name
            rank = member.rank
        } else {
            let given = monmap.members.first { $0.address == address }
            name = given.map { MonMap.isAnonymous($0) ? "?" : $0.name } ?? "?"
            rank = nil
        }
    }

    /// Whether `entity` listens on `address` (a transport address's description).
    static func entity(_ entity: MonitorEntity, isAt address: String) -> Bool {
        entity.address == address || (try? TransportAddress(entity.address))?.description == address
    }

    /// Every monitor asked, ranked as the cluster ranks them (monitors no monmap lists last).
    static func rows(_ survey: StatusSurvey, monmap: MonMap) -> [StatusRow] {
        let cluster = survey.clusterMonmap?.members ?? []
        let rows = survey.asked.map { address in
            let url = address.description
            return survey.replies[address].map { StatusRow(address: url, reply: $0, cluster: cluster) }
                ?? StatusRow(address: url, cluster: cluster, monmap: monmap)
        }
        return rows.sorted { ($0.rank ?? .max, $0.address) < ($1.rank ?? .max, $1.address) }
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
        HealthEvaluator.bytes(count)
    }

    /// `2.3 s`.
    static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }

    /// The rows as an aligned table.
    static func table(_ rows: [StatusRow]) -> String {
        let header = ["NAME", "RANK", "ADDRESS", "STATE", "EPOCH", "QUORUM", "LEADER", "FIRST", "LAST"]
        let cells = rows.map { row -> [String] in
            let rank = row.rank.map(String.init) ?? "-"
            guard row.answered else { return [row.name, rank, row.address, "no answer", "-", "-", "-", "-", "-"] }
            return [row.name, rank, row.address, row.state ?? "-", row.electionEpoch.map(String.init) ?? "-",
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

    /// `quorum a,b,c (leader a); 3 of 3 monitors answered; monmap epoch 1`.
    static func summary(_ rows: [StatusRow], epoch: UInt32?) -> String {
        let answered = rows.filter(\.answered).count
        let inQuorum = rows.first { $0.inQuorum }
        let quorum = inQuorum.map { "quorum \($0.quorum!.joined(separator: ",")) (leader \($0.leader ?? "-"))" } ?? "no quorum"
        return "\(quorum); \(answered) of \(rows.count) monitors answered" + (epoch.map { "; monmap epoch \($0)" } ?? "")
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

    /// The section, naming the provider through `members` (the reporting monitor's monmap).
    init(_ sync: MonitorSyncStatus, members: [MonitorEntity]) {
        requester = sync.requester.map { r in
            Requester(phase: "\(r.phase)", session: r.session, provider: r.provider,
                      providerName: members.first { (try? TransportAddress($0.address)) == (try? TransportAddress(r.provider)) }?.name,
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
