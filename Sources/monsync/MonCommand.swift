import ArgumentParser
import Foundation
import MonSyncCore
import MonSyncMessages
import MonSyncMonitor

/// `monsync mon add|remove|dump`: the monmap, changed through Paxos (Ceph's `ceph mon add/rm/dump`).
struct MonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mon", abstract: "Show or change the cluster's membership (the monmap).",
        discussion: """
        A change is committed through Paxos as the next monmap epoch by the current quorum, one at a \
        time; then every monitor follows the new map. docs/OPERATIONS.md has the procedures (add, \
        remove, replace) and docs/MONITOR.md why one change at a time is safe.
        """,
        subcommands: [MonAddCommand.self, MonRemoveCommand.self, MonDumpCommand.self])
}

/// `monsync mon add NAME ADDRESS`.
struct MonAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a monitor to the monmap.",
        discussion: """
        Commits the next monmap epoch with NAME at ADDRESS. Then start the new monitor with \
        `monsync node --name NAME --join ADDRESS_OF_A_MEMBER --store EMPTY_DIR`: it fetches the monmap, \
        catches up (a full store sync when the others have trimmed what it lacks) and joins. Until it \
        has, the cluster counts it in the monmap: with 3 members a 4th that is not up yet leaves the \
        quorum needing 3 of 4. Adding a member again at the same address changes nothing (exit 0). \
        With CURVE keys, add the new monitor's public key to every member's keyring and send them \
        SIGHUP first (docs/SECURITY.md). Exits like put (0 done, 4 outcome unknown, 5 refused; docs/CLI.md).

        Example:
          monsync mon add d tcp://10.0.0.4:7001 --monmap a=tcp://10.0.0.1:7001,b=tcp://10.0.0.2:7001,c=tcp://10.0.0.3:7001
        """)

    @Argument(help: "The new monitor's name.") var name: String
    @Argument(help: "The new monitor's address (tcp://HOST:PORT, ipc://PATH).") var address: String
    @OptionGroup var options: ClientOptions

    func validate() throws {
        try ClientOptions.check(MMonCommand(op: .monAdd, clientID: 1, tid: 1, key: name, value: Array(address.utf8)))
    }

    func run() async throws {
        try await MonChange(options: options, what: "mon add \(name) \(address)").run { (client, timeout) throws(MonitorClientError) in
            try await client.addMonitor(name: name, address: address, timeout: timeout)
        } report: { version in
            version == 0 ? "mon.\(name) is already a member at \(address); nothing changed"
                : "added mon.\(name) at \(address) (version \(version)); start it with --join"
        }
    }
}

/// `monsync mon remove NAME`.
struct MonRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a monitor from the monmap.",
        discussion: """
        Commits the next monmap epoch without NAME. A removed monitor that is running learns it and \
        takes no further part (its state becomes `removed`); stop it and keep or delete its store. \
        Removing a monitor that is not a member changes nothing (exit 0); the last monitor cannot be \
        removed. Exits like put (0 done, 4 outcome unknown, 5 refused; docs/CLI.md).

        Example:
          monsync mon remove c --monmap a=tcp://10.0.0.1:7001,b=tcp://10.0.0.2:7001,c=tcp://10.0.0.3:7001
        """)

    @Argument(help: "The name of the monitor to remove.") var name: String
    @OptionGroup var options: ClientOptions

    func validate() throws {
        try ClientOptions.check(MMonCommand(op: .monRemove, clientID: 1, tid: 1, key: name))
    }

    func run() async throws {
        try await MonChange(options: options, what: "mon remove \(name)").run { (client, timeout) throws(MonitorClientError) in
            try await client.removeMonitor(name: name, timeout: timeout)
        } report: { version in
            version == 0 ? "mon.\(name) is not in the monmap; nothing changed" : "removed mon.\(name) (version \(version))"
        }
    }
}

/// What `mon add` and `mon remove` share: the call, its errors, and the new map afterwards.
struct MonChange {
    var options: ClientOptions
    var what: String

    func run(_ change: (MonitorClient, Duration) async throws(MonitorClientError) -> UInt64, report: (UInt64) -> String) async throws {
        try await options.withClient { client, monmap in
            let timeout = options.timeout.seconds
            let version: UInt64
            do throws(MonitorClientError) { version = try await change(client, timeout) } catch {
                throw UserFacingError.from(error, monmap: monmap, timeout: timeout, write: (what, client.clientID))
            }
            // The map the cluster follows now, as the monitors report it.
            let survey = await client.survey(timeout: timeout, attemptTimeout: options.attemptTimeout.seconds)
            let map = survey.clusterMonmap
            if options.json {
                try options.printJSON(Result(version: version, epoch: map?.epoch, monmap: map.map { MonmapDump.members($0.members) }))
            } else {
                print(report(version))
                if let map { print(MonmapDump.text(epoch: map.epoch, members: map.members)) }
            }
        }
    }

    /// The JSON answer.
    struct Result: Encodable {
        var version: UInt64
        var epoch: UInt32?
        var monmap: [MonmapDump.Member]?
    }
}

/// `monsync mon dump`.
struct MonDumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump", abstract: "Print the monmap the cluster follows.",
        discussion: """
        Asks every monitor given and prints the newest monmap they report: its epoch and each \
        member's rank, name and address. Exits 0 with a map, 3 when no monitor answered.

        Example:
          monsync mon dump --mon tcp://10.0.0.1:7001 --json
        """)

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.withClient { client, monmap in
            let timeout = options.timeout.seconds
            let survey = await client.survey(timeout: timeout, attemptTimeout: options.attemptTimeout.seconds)
            guard let map = survey.clusterMonmap else {
                throw UserFacingError.unreachable(monitors: monmap.described, timeout: timeout)
            }
            if options.json {
                try options.printJSON(MonmapDump(epoch: map.epoch, members: MonmapDump.members(map.members)))
            } else {
                print(MonmapDump.text(epoch: map.epoch, members: map.members))
            }
        }
    }
}

/// A monmap as `mon dump` prints it.
struct MonmapDump: Encodable {
    var epoch: UInt32
    var members: [Member]

    struct Member: Encodable {
        var rank: Int32
        var name: String
        var address: String
    }

    static func members(_ entities: [MonitorEntity]) -> [Member] {
        entities.map { Member(rank: $0.rank, name: $0.name, address: $0.address) }
    }

    /// `epoch 3` and one `rank: name address` line per member (Ceph's `mon dump`).
    static func text(epoch: UInt32, members: [MonitorEntity]) -> String {
        (["epoch \(epoch)"] + members.map { "\($0.rank): mon.\($0.name) \($0.address)" }).joined(separator: "\n")
    }
}
