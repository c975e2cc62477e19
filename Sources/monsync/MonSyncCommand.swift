import ArgumentParser

/// The `monsync` command: runs nodes and demos, and talks to a cluster.
@main
struct MonSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monsync",
        abstract: "Ceph-style monitor store synchronization over pluggable transports.",
        subcommands: [DemoCommand.self],
        defaultSubcommand: DemoCommand.self
    )
}
