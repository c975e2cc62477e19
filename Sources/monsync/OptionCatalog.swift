import ArgumentParser
import Foundation

/// Every `monsync` command and its options, read from ArgumentParser's own description of them
/// (the JSON of `--experimental-dump-help`).
///
/// The configuration file and the `MONSYNC_*` variables are derived from this catalog, not listed
/// by hand: an option added to a command gets its setting with no other change.
///
/// The tree of commands comes from their `CommandConfiguration`s, which costs nothing; a command's
/// options are described when first asked for, once (about 20 ms a command in a debug build: a
/// command line reads its own command's alone, and only a configuration file's check reads all).
final class OptionCatalog {
    /// One command that runs: its path from the root (`["bench", "put"]`) and its options, option groups included.
    struct Command: Sendable {
        var path: [String]
        var options: [Option]

        /// The section of the configuration file and of the `MONSYNC_<SECTION>_*` variables that
        /// holds settings for this command alone: its first name (`node`, `put`, `bench`).
        var section: String { path.first ?? "" }

        /// Whether the command reads the configuration file and the environment: those that take `--config`.
        var isConfigurable: Bool { options.contains { $0.key == Option.configKey } }

        /// The option `name` (`--lease`, `-l`) stands for.
        func option(named name: String) -> Option? { options.first { $0.names.contains(name) } }
    }

    /// One option or flag, as the command line, the file and the environment name it.
    struct Option: Sendable, Equatable {
        /// The key of `--config` itself: it names the file, so only the command line and `MONSYNC_CONFIG` set it.
        static let configKey = "config"

        /// The options that are no setting, because they belong to one invocation, with why.
        static let commandLineOnly: [String: String] = [
            configKey: "it names the file itself; MONSYNC_CONFIG may name it too",
            "client-id": "it names one write to resend; as a setting, every later write would be taken for that one and not applied",
            "tid": "it names one write to resend; as a setting, every later write would be taken for that one and not applied",
            "value-file": "it holds the value of one write",
            "force": "it lets one snapshot replace one file; as a setting, every later save would overwrite without asking",
        ]

        /// The setting's key: the long name without its dashes (`lease-renew-interval`).
        var key: String
        /// Every spelling on the command line (`--lease-renew-interval`).
        var names: [String]
        /// A flag takes no value (`--json`); an option does.
        var isFlag: Bool
        /// Whether it may be given several times (`--mon`).
        var isRepeating: Bool
        var valueName: String?
        var defaultValue: String?
        var abstract: String?

        /// Whether the environment and the file may set this option (all but ``commandLineOnly``).
        var isSetting: Bool { Self.commandLineOnly[key] == nil }

        /// The long spelling used when the value comes from elsewhere (`--lease-renew-interval`).
        var flag: String { "--" + key }
    }

    /// A command of the tree, by type, before its options are read.
    private struct Node {
        var path: [String]
        var type: any ParsableCommand.Type
        var children: [Node]
        var defaultChild: String?

        init(_ type: any ParsableCommand.Type, path: [String]) {
            self.path = path
            self.type = type
            let configuration = type.configuration
            children = configuration.subcommands.map { Node($0, path: path + [$0._commandName]) }
            defaultChild = configuration.defaultSubcommand?._commandName
        }

        var leaves: [Node] { children.isEmpty ? [self] : children.flatMap(\.leaves) }
    }

    private let root: Node
    /// The commands described so far, by path.
    private var described: [[String]: Command] = [:]

    /// The catalog of `MonSyncCommand`.
    static func monsync() -> OptionCatalog { OptionCatalog(root: MonSyncCommand.self) }

    /// The catalog of the commands under `root`.
    init(root: any ParsableCommand.Type) { self.root = Node(root, path: []) }

    /// Every command that runs (has no subcommands), depth first, with its options.
    var leafCommands: [Command] {
        get throws(ConfigurationError) { try root.leaves.map(describe) }
    }

    /// The command `arguments` (without the program name) invoke and how many of them name it
    /// (`["bench", "put", "--clients", "4"]` → bench put, 2); `nil` when they name none that runs.
    func command(invokedBy arguments: [String]) throws(ConfigurationError) -> (command: Command, nameCount: Int)? {
        var node = root
        var count = 0
        while !node.children.isEmpty {
            if count < arguments.count, let next = node.children.first(where: { $0.path.last == arguments[count] }) {
                node = next
                count += 1
            } else if let fallback = node.defaultChild, let next = node.children.first(where: { $0.path.last == fallback }) {
                node = next
            } else {
                return nil
            }
        }
        return (try describe(node), count)
    }

    /// The command `node` with its options, from ArgumentParser's description of that command alone.
    private func describe(_ node: Node) throws(ConfigurationError) -> Command {
        if let command = described[node.path] { return command }
        let info: ToolInfo
        do { info = try JSONDecoder().decode(ToolInfo.self, from: Data(node.type._dumpHelp().utf8)) } catch {
            throw .internalFailure("cannot read the description of monsync \(node.path.joined(separator: " ")): \(error)")
        }
        let options = (info.command.arguments ?? []).compactMap { argument -> Option? in
            guard argument.kind != "positional", argument.shouldDisplay ?? true else { return nil }
            let names = (argument.names ?? []).map { name in
                name.kind == "long" ? "--" + name.name : "-" + name.name
            }
            // The long name is the key; an option with none could not be set from elsewhere.
            guard let long = argument.names?.first(where: { $0.kind == "long" })?.name,
                  !["help", "version", "experimental-dump-help"].contains(long) else { return nil }
            return Option(key: long, names: names, isFlag: argument.kind == "flag", isRepeating: argument.isRepeating,
                          valueName: argument.valueName, defaultValue: argument.defaultValue, abstract: argument.abstract)
        }
        let command = Command(path: node.path, options: options)
        described[node.path] = command
        return command
    }

    /// The part of ArgumentParser's ToolInfo (`ArgumentParserToolInfo`, not a product of the package) read here.
    private struct ToolInfo: Decodable {
        struct Command: Decodable {
            var arguments: [Argument]?
        }

        struct Argument: Decodable {
            struct Name: Decodable {
                var kind: String
                var name: String
            }

            var kind: String
            var shouldDisplay: Bool?
            var isRepeating: Bool
            var names: [Name]?
            var valueName: String?
            var defaultValue: String?
            var abstract: String?
        }

        var command: Command
    }
}
