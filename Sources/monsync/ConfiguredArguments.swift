import Configuration

/// A command line completed with the settings it leaves out: from `MONSYNC_*` environment
/// variables, then from the configuration file (`--config` or `MONSYNC_CONFIG`).
///
/// Each option of a command that takes `--config` is a setting whose key is its long name
/// (`--lease-renew-interval` → `lease-renew-interval`). An option absent from the command line is
/// looked up, through one swift-configuration `ConfigReader`, in this order:
///
/// 1. `MONSYNC_<COMMAND>_<KEY>` (`MONSYNC_NODE_LEASE`): this command only;
/// 2. `MONSYNC_<KEY>` (`MONSYNC_LEASE`);
/// 3. the file's `<command>.<key>` (`{"node": {"lease": 5}}`): this command only;
/// 4. the file's `<key>` (`{"lease": 5}`).
///
/// A value found is added to the arguments as `--key=value` (a flag set to true as `--key`), so
/// ArgumentParser converts and validates it exactly as if it had been typed; when it refuses one,
/// ``attribute(_:)`` names the setting and where it came from. Nothing is read per flag: the
/// options come from ``OptionCatalog`` (all but the few of one invocation, such as `--tid`:
/// ``OptionCatalog/Option/commandLineOnly``).
struct ConfiguredArguments: Sendable {
    /// One option filled in from the environment or the file.
    struct Filled: Sendable, Equatable {
        var option: OptionCatalog.Option
        /// The values, each added as `--key=value`; none for a flag.
        var values: [String]
        var source: SettingSource
    }

    /// Settings that only make sense together: each group is taken whole from the first place (the
    /// command line, the environment, the file) that sets any of it. A client given `--mon` on the
    /// command line does not also get the file's `monmap`, nor `--insecure-plaintext` the file's keys.
    static let groups: [Set<String>] = [["monmap", "mon"], ["key", "keyring", "insecure-plaintext"]]

    /// The arguments to parse: the command's names, the filled-in options, then the command line's own.
    var arguments: [String]
    var filled: [Filled]

    /// `arguments` (without the program name) completed from `environment` and the configuration file.
    static func complete(_ arguments: [String], environment: [String: String],
                         catalog: OptionCatalog) async throws(ConfigurationError) -> ConfiguredArguments {
        // Nothing to fill without a file or a variable: spare every other command line the catalog.
        let namesFile = arguments.contains { $0 == "--config" || $0.hasPrefix("--config=") }
        guard namesFile || environment.keys.contains(where: { $0.hasPrefix("MONSYNC_") }) else {
            return ConfiguredArguments(arguments: arguments, filled: [])
        }
        guard let (command, nameCount) = try catalog.command(invokedBy: arguments), command.isConfigurable,
              let configOption = command.options.first(where: { $0.key == OptionCatalog.Option.configKey })
        else { return ConfiguredArguments(arguments: arguments, filled: []) }

        // What the command line sets itself (up to a `--`, after which everything is positional).
        var given = Set<String>()
        var configPath: String?
        var index = nameCount
        while index < arguments.count, arguments[index] != "--" {
            let token = arguments[index]
            let name = String(token.split(separator: "=", maxSplits: 1).first ?? "")
            if token.hasPrefix("-"), let option = command.option(named: name) {
                given.insert(option.key)
                if option.key == configOption.key {
                    configPath = token.contains("=") ? String(token.drop { $0 != "=" }.dropFirst())
                        : (index + 1 < arguments.count ? arguments[index + 1] : nil)
                }
            }
            index += 1
        }

        var filled: [Filled] = []
        // Where the monitors are set, when the file is a legacy monmap: it names them itself.
        var legacyMonmapLayer: Int?
        var configLayer = 0
        if configPath == nil, let path = environment[Self.environmentName(section: nil, key: configOption.key)], !path.isEmpty {
            configPath = path
            configLayer = 1
            filled.append(Filled(option: configOption, values: [path],
                                 source: .environment(name: Self.environmentName(section: nil, key: configOption.key))))
        }

        let section = command.section
        let variables = EnvironmentVariablesProvider(environmentVariables: environment)
        var providers: [any ConfigProvider] = [
            KeyMappingProvider(upstream: variables) { AbsoluteConfigKey(["monsync", section] + $0.components) },
            KeyMappingProvider(upstream: variables) { AbsoluteConfigKey(["monsync"] + $0.components) },
        ]
        var sources: [@Sendable (String) -> SettingSource] = [
            { .environment(name: Self.environmentName(section: section, key: $0)) },
            { .environment(name: Self.environmentName(section: nil, key: $0)) },
        ]
        if let configPath {
            switch try await ConfigurationFile.load(path: configPath, catalog: catalog) {
            case let .settings(path, provider):
                providers += Self.sectionFirst(provider, section: section)
                sources += [{ .file(path: path, key: "\(section).\($0)") }, { .file(path: path, key: $0) }]
            case .monmapLines:
                legacyMonmapLayer = configLayer
            }
        }

        let recorder = LookupRecorder()
        let reader = ConfigReader(providers: providers, accessReporter: recorder)
        var found: [(filled: Filled, layer: Int)] = []
        for option in command.options where option.isSetting && !given.contains(option.key) {
            guard let (values, providerIndex) = try lookUp(option, in: reader, recorder: recorder, sources: sources) else { continue }
            // Layers: 0 the command line, 1 the environment, 2 the file.
            found.append((Filled(option: option, values: values, source: sources[providerIndex](option.key)), providerIndex / 2 + 1))
        }

        // Each group comes whole from the first layer that sets any of it.
        for group in groups {
            var layers = found.filter { group.contains($0.filled.option.key) }.map(\.layer)
            if !given.isDisjoint(with: group) { layers.append(0) }
            if group.contains("monmap"), let legacyMonmapLayer { layers.append(legacyMonmapLayer) }
            guard let first = layers.min() else { continue }
            found.removeAll { group.contains($0.filled.option.key) && $0.layer > first }
        }
        filled += found.map(\.filled)

        let added = filled.flatMap { filled in
            filled.option.isFlag ? [filled.option.flag] : filled.values.map { "\(filled.option.flag)=\($0)" }
        }
        return ConfiguredArguments(arguments: Array(arguments[..<nameCount]) + added + Array(arguments[nameCount...]),
                                   filled: filled)
    }

    /// The error to report when ArgumentParser refused the completed arguments with `message` and the
    /// message names an option that was filled in: the setting and where it came from; `nil` when
    /// the message is about the command line alone.
    func attribute(_ message: String) -> ConfigurationError? {
        for filled in filled where Self.mentions(message, filled.option.flag) {
            return .invalidValue(key: filled.option.key, source: filled.source,
                                 value: filled.option.isFlag ? "true" : filled.values.joined(separator: ","), reason: message)
        }
        return nil
    }

    /// The environment variable that sets `key`, for every command or (with `section`) for one:
    /// `MONSYNC_LEASE`, `MONSYNC_NODE_LEASE`.
    static func environmentName(section: String?, key: String) -> String {
        (["MONSYNC"] + (section.map { [$0] } ?? []) + [key])
            .map { String($0.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }) }
            .joined(separator: "_")
    }

    /// `provider` asked for `section.key`, then for `key`: a command's own settings before the shared ones.
    private static func sectionFirst(_ provider: some ConfigProvider, section: String) -> [any ConfigProvider] {
        [KeyMappingProvider(upstream: provider) { AbsoluteConfigKey([section] + $0.components) }, provider]
    }

    /// Whether `message` names `flag` itself, not a longer flag it begins (`--lease` in `--lease-renew-interval`).
    private static func mentions(_ message: String, _ flag: String) -> Bool {
        var rest = message[...]
        while let range = rest.range(of: flag) {
            let next = rest[range.upperBound...].first
            if next == nil || !(next!.isLetter || next!.isNumber || next! == "-") { return true }
            rest = rest[range.upperBound...]
        }
        return false
    }

    /// The value of `option` from the first provider that has one, as command-line strings, and that
    /// provider's index; `nil` when none has it.
    ///
    /// Environment variables are strings; a JSON value may be a string, a number, a boolean or a list.
    /// The reader is asked for the shapes an option can take in turn (a provider holding another
    /// shape answers with an error), and the recorder tells which provider answered.
    private static func lookUp(_ option: OptionCatalog.Option, in reader: ConfigReader, recorder: LookupRecorder,
                               sources: [@Sendable (String) -> SettingSource]) throws(ConfigurationError) -> (values: [String], provider: Int)? {
        let key = ConfigKey([option.key])
        if option.isFlag {
            let value = reader.bool(forKey: key)
            let outcome = recorder.outcome()
            if case let .failure(providerIndex, _) = outcome {
                throw .wrongType(key: option.key, source: sources[providerIndex](option.key), expected: "true or false (or yes/no, 1/0)")
            }
            guard case let .found(providerIndex) = outcome, value == true else { return nil }
            return ([], providerIndex)
        }
        // Each reading, in the order tried: a repeating option prefers a list, any other a single value.
        let single: [() -> [String]?] = [
            { reader.string(forKey: key).map { [$0] } },
            { reader.int(forKey: key).map { [String($0)] } },
            { reader.double(forKey: key).map { [String($0)] } },
        ]
        let list: () -> [String]? = { reader.stringArray(forKey: key) }
        let readings: [() -> [String]?] = option.isRepeating
            ? [list] + single
            // A list for a single value is joined with commas: the monmap may be written as a list of `name=URL`.
            : single + [{ list().map { [$0.joined(separator: ",")] } }]
        var lastFailure: Int?
        for reading in readings {
            let values = reading()
            switch recorder.outcome() {
            case .absent: return nil
            case let .found(providerIndex): if let values { return (values, providerIndex) }
            case let .failure(providerIndex, _): lastFailure = providerIndex
            }
        }
        let source = lastFailure.map { sources[$0](option.key) } ?? .commandLine
        throw .wrongType(key: option.key, source: source, expected: option.isRepeating ? "a string or a list of strings" : "a string or a number")
    }
}
