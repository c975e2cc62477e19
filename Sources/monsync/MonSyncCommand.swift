import ArgumentParser

/// The `monsync` command: runs nodes and demos, and talks to a cluster.
@main
struct MonSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monsync",
        abstract: "Ceph-style monitor store synchronization over pluggable transports.",
        subcommands: [DemoCommand.self, NodeCommand.self, PutCommand.self, GetCommand.self, DeleteCommand.self,
                      ListCommand.self, StatusCommand.self, HealthCommand.self, StoreCommand.self, SnapshotCommand.self, BenchCommand.self,
                      KeygenCommand.self],
        defaultSubcommand: DemoCommand.self
    )
}
