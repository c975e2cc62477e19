import ArgumentParser
import Foundation
import MonSyncTestSupport
import Testing
@testable import monsync

/// Settings from `MONSYNC_*` variables and the `--config` file (``ConfiguredArguments``), in
/// process: every option of every command that reads them has a working key, the command line wins
/// over the environment and the environment over the file, and bad settings are typed errors that
/// name the key and where it came from. ConfigurationProcessTests runs the same through the binary.
@Suite("Configuration: MONSYNC_* variables and the --config file")
struct ConfigurationTests {
    let catalog = OptionCatalog.monsync()
    /// The commands that read settings, and every one of their options that is a setting.
    let configurable: [(command: OptionCatalog.Command, option: OptionCatalog.Option)]

    init() throws {
        configurable = try catalog.leafCommands.filter(\.isConfigurable).flatMap { command in
            command.options.filter(\.isSetting).map { (command, $0) }
        }
    }

    /// `body` with a file named `name` holding `text`.
    func withFile<T>(_ text: String, named name: String = "monsync.json", _ body: (String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent(name).path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return try await body(path)
        }
    }

    @Test("the node, every client command and bench read settings; demo, store and keygen do not")
    func whoReadsSettings() throws {
        let paths = Set(try catalog.leafCommands.filter(\.isConfigurable).map { $0.path.joined(separator: " ") })
        #expect(paths.isSuperset(of: ["node", "put", "get", "delete", "list", "status", "health", "bench put", "bench get", "bench mixed"]), "\(paths)")
        #expect(paths.isDisjoint(with: ["demo", "store load", "store dump", "store digest", "keygen"]), "\(paths)")
        // The timers are settings too.
        let node = try catalog.leafCommands.first { $0.path == ["node"] }
        for key in ["lease", "election-timeout", "sync-window", "sync-chunk-timeout", "log-format", "key", "keyring", "store", "name"] {
            #expect(node?.options.contains { $0.key == key } == true, "node has no setting \(key)")
        }
    }

    @Test("every option has a key: set through MONSYNC_<COMMAND>_<KEY>, MONSYNC_<KEY>, the file's <command>.<key> and <key>")
    func everyOptionHasAKey() async throws {
        #expect(configurable.count > 60, "the walk covers the commands' options")
        for (command, option) in configurable {
            let name = command.path.joined(separator: " ")
            let value = option.isFlag ? "true" : "7"
            let expected = option.isFlag ? [option.flag] : ["\(option.flag)=7"]
            for variable in [ConfiguredArguments.environmentName(section: command.section, key: option.key),
                             ConfiguredArguments.environmentName(section: nil, key: option.key)] {
                let configured = try await ConfiguredArguments.complete(command.path, environment: [variable: value], catalog: catalog)
                #expect(Array(configured.arguments.dropFirst(command.path.count)) == expected, "\(name): \(variable)")
                #expect(configured.filled.map(\.source) == [.environment(name: variable)], "\(name): \(variable)")
            }
            let json = option.isFlag ? "true" : "\"7\""
            for fileKey in ["\(command.section).\(option.key)", option.key] {
                let nested = fileKey.contains(".") ? #"{"\#(command.section)": {"\#(option.key)": \#(json)}}"# : #"{"\#(option.key)": \#(json)}"#
                let yaml = fileKey.contains(".") ? "# one setting\n\(command.section):\n  \(option.key): \(value)\n" : "\(option.key): \(value)\n"
                for (text, file) in [(nested, "monsync.json"), (yaml, "monsync.yaml")] {
                    try await withFile(text, named: file) { path async throws in
                        let configured = try await ConfiguredArguments.complete(command.path + ["--config", path], environment: [:], catalog: catalog)
                        #expect(Array(configured.arguments.dropFirst(command.path.count)) == expected + ["--config", path], "\(name): \(file) \(fileKey)")
                        #expect(configured.filled.map(\.source) == [.file(path: path, key: fileKey)], "\(name): \(file) \(fileKey)")
                    }
                }
            }
        }
    }

    @Test("the options of one invocation are no settings: the environment does not set them")
    func commandLineOnly() async throws {
        #expect(Set(OptionCatalog.Option.commandLineOnly.keys) == ["config", "client-id", "tid", "value-file", "force"])
        let configured = try await ConfiguredArguments.complete(["put", "k", "v"], environment: ["MONSYNC_TID": "1", "MONSYNC_CLIENT_ID": "1",
                                                                                                 "MONSYNC_VALUE_FILE": "/etc/passwd"],
                                                                catalog: catalog)
        #expect(configured.arguments == ["put", "k", "v"])
        let save = try await ConfiguredArguments.complete(["snapshot", "save", "f.msnap"], environment: ["MONSYNC_FORCE": "true"], catalog: catalog)
        #expect(save.arguments == ["snapshot", "save", "f.msnap"], "a setting must not let every save overwrite its file")
    }

    @Test("no two settings share an environment variable")
    func environmentNamesAreUnique() {
        var owners: [String: String] = [:]
        for (command, option) in configurable {
            for (variable, owner) in [(ConfiguredArguments.environmentName(section: command.section, key: option.key), "\(command.section).\(option.key)"),
                                      (ConfiguredArguments.environmentName(section: nil, key: option.key), option.key)] {
                #expect(owners[variable] == nil || owners[variable] == owner, "\(variable) sets both \(owners[variable] ?? "") and \(owner)")
                owners[variable] = owner
            }
        }
    }

    @Test("the command line wins over the environment, which wins over the file; a command's own section wins within each")
    func precedence() async throws {
        try await withFile(#"{"timeout": 1, "put": {"timeout": 2}, "attempt-timeout": 0.25, "json": true}"#) { path async throws in
            func timeout(_ arguments: [String], _ environment: [String: String]) async throws -> Double {
                let configured = try await ConfiguredArguments.complete(["put", "k", "v", "--config", path] + arguments,
                                                                        environment: environment, catalog: catalog)
                let command = try #require(try MonSyncCommand.parseAsRoot(configured.arguments) as? PutCommand)
                #expect(command.options.json, "the file's json applies")
                #expect(command.options.attemptTimeout == 0.25, "the file's attempt-timeout applies")
                return command.options.timeout
            }
            #expect(try await timeout([], [:]) == 2, "the file's put section over its top level")
            #expect(try await timeout([], ["MONSYNC_TIMEOUT": "3"]) == 3, "the environment over the file")
            #expect(try await timeout([], ["MONSYNC_TIMEOUT": "3", "MONSYNC_PUT_TIMEOUT": "4"]) == 4, "the command's variable over the general one")
            #expect(try await timeout(["--timeout", "5"], ["MONSYNC_TIMEOUT": "3", "MONSYNC_PUT_TIMEOUT": "4"]) == 5, "the command line over all")
            #expect(try await timeout(["--timeout=6"], ["MONSYNC_PUT_TIMEOUT": "4"]) == 6, "--flag=value counts as given")
        }
    }

    @Test("a node takes its whole configuration from the file: monmap as a list, timers, store, log format")
    func nodeFromFile() async throws {
        let json = #"""
        {
          "monmap": ["a=tcp://127.0.0.1:7001", "b=tcp://127.0.0.1:7002", "c=tcp://127.0.0.1:7003"],
          "node": {"store": "/var/lib/monsync/a", "lease": 4, "lease-renew-interval": 1.5, "sync-window": 16,
                   "log-format": "json", "log-level": "notice"},
          "log-level": "debug"
        }
        """#
        try await withFile(json) { path async throws in
            let configured = try await ConfiguredArguments.complete(["node", "--name", "a", "--config", path],
                                                                    environment: ["MONSYNC_SYNC_CHUNK_TIMEOUT": "12"], catalog: catalog)
            let node = try #require(try MonSyncCommand.parseAsRoot(configured.arguments) as? NodeCommand)
            #expect(node.cluster.monmap == "a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002,c=tcp://127.0.0.1:7003")
            #expect(try node.cluster.resolve(allowAnonymous: false).members.map(\.name) == ["a", "b", "c"], "the JSON file is not read as name=URL lines")
            #expect(node.store == "/var/lib/monsync/a")
            #expect(node.monitorOptions.lease == 4 && node.monitorOptions.leaseRenewInterval == 1.5)
            #expect(node.syncOptions.syncWindow == 16 && node.syncOptions.syncChunkTimeout == 12)
            #expect(node.logFormat == .json)
            #expect(node.logLevel == .notice, "the node section over the top level")
        }
    }

    @Test("a YAML file (named .yaml or .yml) holds the same settings, with comments")
    func yaml() async throws {
        let yaml = """
        # The cluster's monitors, ranks in order.
        monmap:
          - a=tcp://127.0.0.1:7001
          - b=tcp://127.0.0.1:7002
        insecure-plaintext: true
        node:
          store: /var/lib/monsync/a   # per host
          lease: 4
          lease-renew-interval: 1.5
          log-format: json
        status:
          json: true
        """
        try await withFile(yaml, named: "monsync.yml") { path async throws in
            let node = try await ConfiguredArguments.complete(["node", "--name", "a", "--config", path], environment: [:], catalog: catalog)
            let parsed = try #require(try MonSyncCommand.parseAsRoot(node.arguments) as? NodeCommand)
            #expect(parsed.cluster.monmap == "a=tcp://127.0.0.1:7001,b=tcp://127.0.0.1:7002" && parsed.cluster.security.insecurePlaintext)
            #expect(parsed.store == "/var/lib/monsync/a" && parsed.monitorOptions.lease == 4 && parsed.monitorOptions.leaseRenewInterval == 1.5)
            #expect(parsed.logFormat == .json)
            #expect(try parsed.cluster.resolve(allowAnonymous: false).members.map(\.name) == ["a", "b"], "not read as name=URL lines")
            let status = try await ConfiguredArguments.complete(["status", "--config", path], environment: [:], catalog: catalog)
            #expect(try #require(try MonSyncCommand.parseAsRoot(status.arguments) as? StatusCommand).options.json)
        }
        for (text, expected) in [("node:\n  lease-renew-intervall: 1\n", "did you mean node.lease-renew-interval?"),
                                 ("json: maybe\n", "must be true or false"),
                                 ("monmap: [a, b\n", "cannot be read as settings"),
                                 ("- a\n- b\n", "the top level is not a mapping")] {
            try await withFile(text, named: "monsync.yaml") { path async throws in
                do {
                    _ = try await ConfiguredArguments.complete(["status", "--config", path], environment: [:], catalog: catalog)
                    Issue.record("accepted: \(text)")
                } catch {
                    #expect("\(error)".contains(expected), "\(text): \(error)")
                }
            }
        }
    }

    @Test("the monitors and the keys are each taken whole from one place")
    func groupsComeFromOnePlace() async throws {
        try await withFile(#"{"monmap": "a=tcp://127.0.0.1:7001", "key": "/k", "keyring": "/r"}"#) { path async throws in
            let client = try await ConfiguredArguments.complete(["get", "k", "--config", path, "--mon", "tcp://127.0.0.1:9"],
                                                                environment: [:], catalog: catalog)
            #expect(!client.arguments.contains { $0.hasPrefix("--monmap") }, "--mon on the command line replaces the file's monmap: \(client.arguments)")
            #expect(client.arguments.contains("--key=/k") && client.arguments.contains("--keyring=/r"))
            let environment = try await ConfiguredArguments.complete(["get", "k", "--config", path],
                                                                     environment: ["MONSYNC_MON": "tcp://127.0.0.1:8,tcp://127.0.0.1:9", "MONSYNC_KEY": "/e"],
                                                                     catalog: catalog)
            #expect(environment.arguments.contains("--mon=tcp://127.0.0.1:8") && environment.arguments.contains("--mon=tcp://127.0.0.1:9"))
            #expect(!environment.arguments.contains { $0.hasPrefix("--monmap") })
            #expect(environment.arguments.contains("--key=/e") && !environment.arguments.contains { $0.hasPrefix("--keyring") },
                    "the environment's key does not pair with the file's keyring: \(environment.arguments)")
        }
    }

    @Test("MONSYNC_CONFIG names the file; a legacy name=URL file still lists the monmap")
    func configFromEnvironment() async throws {
        try await withTemporaryDirectory { directory in
            let legacy = directory.appendingPathComponent("monmap.conf").path
            try Data("a=tcp://127.0.0.1:7001\nb=tcp://127.0.0.1:7002\n".utf8).write(to: URL(fileURLWithPath: legacy))
            let configured = try await ConfiguredArguments.complete(["status"], environment: ["MONSYNC_CONFIG": legacy], catalog: catalog)
            #expect(configured.arguments == ["status", "--config=\(legacy)"])
            let status = try #require(try MonSyncCommand.parseAsRoot(configured.arguments) as? StatusCommand)
            #expect(try status.options.cluster.resolve(allowAnonymous: true).members.map(\.name) == ["a", "b"])
            // The legacy file names the monitors on the command line: MONSYNC_MONMAP does not add to them.
            let overridden = try await ConfiguredArguments.complete(["status", "--config", legacy], environment: ["MONSYNC_MONMAP": "z=tcp://127.0.0.1:9"],
                                                                    catalog: catalog)
            #expect(overridden.arguments == ["status", "--config", legacy])
        }
    }

    @Test("only the node and client commands read settings; a command line after -- is left alone")
    func untouched() async throws {
        let environment = ["MONSYNC_KEYS": "5", "MONSYNC_TIMEOUT": "3"]
        for arguments in [["demo"], ["store", "load", "/tmp/x", "--keys", "1", "--value-size", "1"], ["keygen", "--out", "x"], ["--version"], []] {
            let configured = try await ConfiguredArguments.complete(arguments, environment: environment, catalog: catalog)
            #expect(configured.arguments == arguments && configured.filled.isEmpty, "\(arguments)")
        }
        let configured = try await ConfiguredArguments.complete(["get", "--", "--timeout"], environment: environment, catalog: catalog)
        #expect(configured.arguments == ["get", "--timeout=3", "--", "--timeout"], "the key --timeout after -- is a key, not the option")
    }

    @Test("bad settings are typed errors naming the key and the source")
    func badSettings() async throws {
        func failure(_ json: String?, _ arguments: [String] = ["status"], environment: [String: String] = [:]) async throws -> ConfigurationError? {
            func attempt(_ arguments: [String]) async throws -> ConfigurationError? {
                do {
                    let configured = try await ConfiguredArguments.complete(arguments, environment: environment, catalog: catalog)
                    do { _ = try MonSyncCommand.parseAsRoot(configured.arguments) } catch {
                        return configured.attribute(MonSyncCommand.message(for: error))
                    }
                    return nil
                } catch {
                    return error
                }
            }
            guard let json else { return try await attempt(arguments) }
            return try await withFile(json) { path async throws in try await attempt(arguments + ["--config", path]) }
        }
        let typo = try #require(try await failure(#"{"node": {"lease-renew-intervall": 1}}"#))
        guard case let .unknownKey(key, _, suggestion) = typo else { Issue.record("\(typo)"); return }
        #expect(key == "node.lease-renew-intervall" && suggestion == "node.lease-renew-interval")
        #expect(typo.description.contains("did you mean node.lease-renew-interval?"))

        let stranger = try #require(try await failure(#"{"colour": "blue"}"#))
        #expect(stranger.description.contains("sets colour, which is no setting of monsync"), "\(stranger)")
        let wrongSection = try #require(try await failure(#"{"put": {"lease": 3}}"#))
        #expect(wrongSection.description.contains("sets put.lease"), "a node setting under put is unknown: \(wrongSection)")

        let flag = try #require(try await failure(#"{"json": "yes"}"#))
        #expect(flag == .wrongType(key: "json", source: .file(path: flagPath(flag), key: "json"), expected: "true or false"))
        let list = try #require(try await failure(#"{"timeout": {"a": 1}}"#))
        #expect(list.description.contains("the setting timeout from"), "\(list)")

        let value = try #require(try await failure(#"{"status": {"timeout": "soon"}}"#))
        guard case let .invalidValue(key, source, given, reason) = value else { Issue.record("\(value)"); return }
        #expect(key == "timeout" && given == "soon" && reason.contains("'soon' is invalid for '--timeout"))
        guard case let .file(_, fileKey) = source else { Issue.record("\(source)"); return }
        #expect(fileKey == "status.timeout")

        let variable = try #require(try await failure(nil, environment: ["MONSYNC_TIMEOUT": "0"]))
        #expect(variable == .invalidValue(key: "timeout", source: .environment(name: "MONSYNC_TIMEOUT"), value: "0",
                                          reason: "--timeout must be between 0 and 3600 seconds (got 0.0)."))
        let notFlag = try #require(try await failure(nil, environment: ["MONSYNC_JSON": "maybe"]))
        #expect(notFlag.description == "the setting json from the environment variable MONSYNC_JSON must be true or false (or yes/no, 1/0)")
        #expect(try await failure(nil, ["status", "--timeout", "0"]) == nil, "a bad flag on the command line is ArgumentParser's to report")

        let malformed = try #require(try await failure(#"{"timeout": 1,"#))
        guard case .malformedFile = malformed else { Issue.record("\(malformed)"); return }
        let topLevelList = try #require(try await failure("[1, 2]", ["status"]))
        #expect(topLevelList.description.contains("the top level is not an object"), "\(topLevelList)")
        let itself = try #require(try await failure(#"{"config": "/etc/other.json"}"#))
        #expect(itself.description.contains("config is set in"), "\(itself)")
        for key in ["client-id", "tid", "put.value-file"] {
            let oneWrite = try #require(try await failure(#"{"\#(key)": "1"}"#))
            guard case let .commandLineOnly(refused, _, _) = oneWrite else { Issue.record("\(oneWrite)"); continue }
            #expect(refused == key)
        }
        do {
            _ = try await ConfiguredArguments.complete(["status", "--config", "/nonexistent/monsync.json"], environment: [:], catalog: catalog)
            Issue.record("a missing file was read")
        } catch {
            guard case let .unreadableFile(path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == "/nonexistent/monsync.json")
        }
    }

    /// The path in a `.wrongType` from a file.
    private func flagPath(_ error: ConfigurationError) -> String {
        if case let .wrongType(_, .file(path, _), _) = error { return path }
        return ""
    }

    @Test("the examples of docs/CLI.md (JSON, YAML) configure a node and the clients")
    func documentedExample() async throws {
        let documentation = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/CLI.md"), encoding: .utf8)
        let section = try #require(documentation.components(separatedBy: "## Configuration").dropFirst().first)
        let example = try #require(section.components(separatedBy: "```json\n").dropFirst().first?.components(separatedBy: "```").first)
        try await withFile(example) { path async throws in
            let node = try await ConfiguredArguments.complete(["node", "--name", "a", "--config", path], environment: [:], catalog: catalog)
            let parsed = try #require(try MonSyncCommand.parseAsRoot(node.arguments) as? NodeCommand)
            #expect(parsed.store == "/var/lib/monsync/store" && parsed.cluster.security.key == "/etc/monsync/node.key")
            #expect(parsed.syncOptions.syncMaxSessions == 4 && parsed.logFormat == .json)
            let get = try await ConfiguredArguments.complete(["get", "color", "--config", path], environment: [:], catalog: catalog)
            let client = try #require(try MonSyncCommand.parseAsRoot(get.arguments) as? GetCommand)
            #expect(client.options.cluster.security.key == "/etc/monsync/viewer.key" && client.options.timeout == 5)
            #expect(try client.options.cluster.resolve(allowAnonymous: true).members.map(\.name) == ["a", "b", "c"])
        }
        let yaml = try #require(section.components(separatedBy: "```yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        try await withFile(yaml, named: "monsync.yaml") { path async throws in
            let node = try await ConfiguredArguments.complete(["node", "--name", "a", "--config", path], environment: [:], catalog: catalog)
            let parsed = try #require(try MonSyncCommand.parseAsRoot(node.arguments) as? NodeCommand)
            #expect(parsed.store == "/var/lib/monsync/store" && parsed.monitorOptions.lease == 5)
            #expect(try parsed.cluster.resolve(allowAnonymous: false).members.map(\.name) == ["a", "b", "c"])
        }
    }

    @Test("docs/CLI.md lists every setting with its key and environment variable")
    func documented() throws {
        let documentation = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/CLI.md"), encoding: .utf8)
        let table = documentation.components(separatedBy: "\n").filter { $0.hasPrefix("| `--") }
        for (_, option) in configurable {
            let row = table.first { $0.hasPrefix("| `\(option.flag)") && $0.contains("| `\(option.key)` |") }
            #expect(row?.contains("`\(ConfiguredArguments.environmentName(section: nil, key: option.key))`") == true,
                    "docs/CLI.md has no settings row for \(option.flag) (key \(option.key))")
        }
    }
}

/// The repository's root directory (this file is Tests/MonSyncCommandTests/…).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
