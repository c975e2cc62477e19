import ArgumentParser
import Foundation

/// The `monsync` command: runs nodes and demos, and talks to a cluster.
@main
struct MonSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monsync",
        abstract: "Ceph-style monitor store synchronization over pluggable transports.",
        discussion: """
        The node and client commands also take every option from MONSYNC_* environment variables \
        and from the file (JSON, or YAML named .yaml) --config or MONSYNC_CONFIG names; the command line wins, then the \
        environment, then the file (docs/CLI.md, "Configuration").
        """,
        version: MonSyncVersion.description,
        subcommands: [DemoCommand.self, NodeCommand.self, PutCommand.self, GetCommand.self, DeleteCommand.self,
                      ListCommand.self, StatusCommand.self, HealthCommand.self, MonCommand.self, StoreCommand.self, SnapshotCommand.self, BenchCommand.self,
                      KeygenCommand.self],
        defaultSubcommand: DemoCommand.self
    )

    /// ArgumentParser's `main`, on the command line completed from the environment and the
    /// configuration file first (``ConfiguredArguments``); a bad setting exits 64 naming it.
    static func main() async {
        let configured: ConfiguredArguments
        do {
            configured = try await ConfiguredArguments.complete(Array(CommandLine.arguments.dropFirst()),
                                                                environment: ProcessInfo.processInfo.environment,
                                                                catalog: OptionCatalog.monsync())
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            Self.exit(withError: ExitCode(ClientExitCode.usage.rawValue))
        }
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot(configured.arguments)
        } catch {
            // Only a filled-in option can be to blame (and the message costs a help screen's work).
            if !configured.filled.isEmpty, let setting = configured.attribute(Self.message(for: error)) {
                FileHandle.standardError.write(Data("Error: \(setting)\n".utf8))
                Self.exit(withError: ExitCode(ClientExitCode.usage.rawValue))
            }
            Self.exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
