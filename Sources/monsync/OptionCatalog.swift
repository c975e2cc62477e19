import ArgumentParser
import Foundation

/// Every `monsync` command and its options, read from ArgumentParser's own description of them
/// (the JSON of `--experimental-dump-help`).
///
/// The configuration file and the `MONSYNC_*` variables are derived from this catalog, not listed
/// by hand: an option added to a command gets its setting with no other change.
struct OptionCatalog: Sendable {
    /// One (sub)command: its path from the root (`["bench", "put"]`) and its options, option groups included.
    struct Command: Sendable {
        var path: [String]
        var options: [Option]
        var subcommands: [Command]
        var defaultSubcommand: String?

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
        ]

        /// Whether the environment and the file may set this option (all but ``commandLineOnly``).
        var isSetting: Bool { Self.commandLineOnly[key] == nil }

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

        /// The long spelling used when the value comes from elsewhere (`--lease-renew-interval`).
        var flag: String { "--" + key }
    }

    /// The root command (`monsync`).
    var root: Command

    /// The catalog of `MonSyncCommand`.
    static func monsync() throws(ConfigurationError) -> OptionCatalog {
        try OptionCatalog(dumpedHelp: MonSyncCommand._dumpHelp())
    }

    /// The catalog described by `json`, ArgumentParser's ToolInfo (serialization version 0).
    init(dumpedHelp json: String) throws(ConfigurationError) {
        do {
            let info = try JSONDecoder().decode(ToolInfo.self, from: Data(json.utf8))
            root = Self.command(info.command, path: [])
        } catch {
            throw .internalFailure("cannot read the commands' own description: \(error)")
        }
    }

    /// Every command that runs (has no subcommands), depth first.
    var leafCommands: [Command] {
        func leaves(_ command: Command) -> [Command] {
            command.subcommands.isEmpty ? [command] : command.subcommands.flatMap(leaves)
        }
        return leaves(root)
    }

    /// The command `arguments` (without the program name) invoke and how many of them name it
    /// (`["bench", "put", "--clients", "4"]` → bench put, 2); `nil` when they name none that runs.
    func command(invokedBy arguments: [String]) -> (command: Command, nameCount: Int)? {
        var command = root
        var count = 0
        while !command.subcommands.isEmpty {
            if count < arguments.count, let next = command.subcommands.first(where: { $0.path.last == arguments[count] }) {
                command = next
                count += 1
            } else if let fallback = command.defaultSubcommand,
                      let next = command.subcommands.first(where: { $0.path.last == fallback }) {
                command = next
            } else {
                return nil
            }
        }
        return (command, count)
    }

    private static func command(_ info: ToolInfo.Command, path: [String]) -> Command {
        let path = info.superCommands == nil ? path : path + [info.commandName]
        let options = (info.arguments ?? []).compactMap { argument -> Option? in
            guard argument.kind != "positional", argument.shouldDisplay ?? true else { return nil }
            let names = (argument.names ?? []).map { name in
                switch name.kind {
                case "short": "-" + name.name
                case "longWithSingleDash": "-" + name.name
                default: "--" + name.name
                }
            }
            // The long name is the key; an option with none could not be set from elsewhere.
            guard let long = argument.names?.first(where: { $0.kind == "long" })?.name,
                  !["help", "version", "experimental-dump-help"].contains(long) else { return nil }
            return Option(key: long, names: names, isFlag: argument.kind == "flag", isRepeating: argument.isRepeating,
                          valueName: argument.valueName, defaultValue: argument.defaultValue, abstract: argument.abstract)
        }
        return Command(path: path, options: options,
                       subcommands: (info.subcommands ?? []).map { command($0, path: path) },
                       defaultSubcommand: info.defaultSubcommand)
    }

    /// The part of ArgumentParser's ToolInfo (`ArgumentParserToolInfo`, not a product of the package) read here.
    private struct ToolInfo: Decodable {
        struct Command: Decodable {
            var superCommands: [String]?
            var commandName: String
            var defaultSubcommand: String?
            var subcommands: [Command]?
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
