import Configuration
import Foundation
import SystemPackage
import Yams

/// The file `--config` (or `MONSYNC_CONFIG`) names.
///
/// Either settings — the long flags without their dashes, at the top for every command, or under a
/// command's name (`"node": {…}`) for that command alone — as a JSON object or a YAML mapping, or,
/// as before there were settings, a monmap: one `name=URL` line per monitor, which
/// ``ClusterOptions`` reads. See ``Format/of(path:contents:)`` for how they are told apart.
enum ConfigurationFile {
    /// A file of settings, read through swift-configuration.
    case settings(path: String, provider: any ConfigProvider)
    /// A legacy monmap file of `name=URL` lines.
    case monmapLines(path: String)

    /// How a file is written.
    enum Format: Equatable {
        case json, yaml, monmapLines

        /// `.yaml` and `.yml` files are YAML, `.json` files JSON; any other file is JSON when its
        /// first character other than blank space is `{` (no `name=URL` line starts so), else a
        /// monmap of `name=URL` lines. (A YAML file needs its extension: a `name=URL` line is valid YAML.)
        static func of(path: String, contents: Data) -> Format {
            let lowercased = path.lowercased()
            if lowercased.hasSuffix(".yaml") || lowercased.hasSuffix(".yml") { return .yaml }
            let first = contents.first { !Set(" \t\r\n".utf8).contains($0) }
            return lowercased.hasSuffix(".json") || first == UInt8(ascii: "{") ? .json : .monmapLines
        }
    }

    /// The shape of a value of the file, all that is checked before the values are read.
    indirect enum Shape: Equatable {
        case bool, number, string, stringList, object([String: Shape]), other
    }

    /// Reads the file at `path`, checking every key and the shape of every value against `catalog`.
    static func load(path: String, catalog: OptionCatalog) async throws(ConfigurationError) -> ConfigurationFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedFailureReason ?? error.localizedDescription)
        }
        let format = Format.of(path: path, contents: data)
        let top: [String: Shape]
        switch format {
        case .monmapLines: return .monmapLines(path: path)
        case .json: top = try jsonShapes(data, path: path)
        case .yaml: top = try yamlShapes(data, path: path)
        }
        try check(top, path: path, catalog: catalog)
        do {
            let filePath = FilePath(path)
            let provider: any ConfigProvider = format == .yaml
                ? try await FileProvider<YAMLSnapshot>(filePath: filePath) : try await FileProvider<JSONSnapshot>(filePath: filePath)
            return .settings(path: path, provider: provider)
        } catch {
            throw .malformedFile(path: path, reason: "\(error)")
        }
    }

    /// The shapes of a JSON file's top-level object.
    private static func jsonShapes(_ data: Data, path: String) throws(ConfigurationError) -> [String: Shape] {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw .malformedFile(path: path, reason: (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")
        }
        func shape(_ value: Any) -> Shape {
            if let number = value as? NSNumber {
                // A JSON true or false is a boolean NSNumber, which also converts to Int: tell them apart by type.
                return type(of: number) == type(of: NSNumber(value: true)) ? .bool : .number
            }
            if value is String { return .string }
            if let list = value as? [Any] { return list.allSatisfy { $0 is String } ? .stringList : .other }
            if let object = value as? [String: Any] { return .object(object.mapValues(shape)) }
            return .other
        }
        guard case let .object(top) = shape(parsed) else { throw .malformedFile(path: path, reason: "the top level is not an object") }
        return top
    }

    /// The shapes of a YAML file's top-level mapping.
    private static func yamlShapes(_ data: Data, path: String) throws(ConfigurationError) -> [String: Shape] {
        let root: Node?
        do { root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) } catch {
            throw .malformedFile(path: path, reason: "\(error)")
        }
        func shape(_ node: Node) -> Shape {
            switch node {
            case .scalar:
                if node.bool != nil { return .bool }
                return node.int != nil || node.float != nil ? .number : .string
            case let .sequence(sequence):
                return sequence.allSatisfy { $0.scalar != nil } ? .stringList : .other
            case let .mapping(mapping):
                var object: [String: Shape] = [:]
                for (key, value) in mapping {
                    guard let key = key.string else { return .other }
                    object[key] = shape(value)
                }
                return .object(object)
            case .alias:
                return .other
            }
        }
        guard let root, case let .object(top) = shape(root) else {
            throw .malformedFile(path: path, reason: "the top level is not a mapping of settings")
        }
        return top
    }

    /// Refuses a key that is no setting and a value of the wrong shape, before anything is read.
    private static func check(_ top: [String: Shape], path: String, catalog: OptionCatalog) throws(ConfigurationError) {
        let commands = try catalog.leafCommands.filter(\.isConfigurable)
        let sections = Dictionary(grouping: commands, by: \.section).mapValues { $0.flatMap(\.options) }
        let everywhere = commands.flatMap(\.options)
        let known = Set(everywhere.map(\.key)).union(sections.flatMap { section, options in options.map { "\(section).\($0.key)" } })
        func unknown(_ key: String) -> ConfigurationError {
            .unknownKey(key: key, path: path, suggestion: Self.nearest(to: key, among: known))
        }
        func checkSetting(_ key: String, _ shape: Shape, options: [OptionCatalog.Option]) throws(ConfigurationError) {
            let name = key.split(separator: ".").last.map(String.init) ?? key
            guard let option = options.first(where: { $0.key == name }) else { throw unknown(key) }
            let source = SettingSource.file(path: path, key: key)
            if let reason = OptionCatalog.Option.commandLineOnly[option.key] {
                throw .commandLineOnly(key: key, source: source, reason: reason)
            }
            if option.isFlag {
                guard shape == .bool else { throw .wrongType(key: key, source: source, expected: "true or false") }
            } else {
                // A list for a single value is joined with commas (the monmap as a list of name=URL).
                guard [.string, .number, .stringList].contains(shape) else {
                    throw .wrongType(key: key, source: source, expected: option.isRepeating ? "a string or a list of strings" : "a string or a number")
                }
            }
        }
        for (key, shape) in top {
            let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            // `mon` names both a setting (`--mon URL`) and the section of `monsync mon`: an object is
            // the section, anything else the setting.
            let isAlsoSetting = everywhere.contains { $0.key == key }
            if components.count == 1, let options = sections[key], case let .object(nested) = shape {
                for (innerKey, innerShape) in nested {
                    try checkSetting("\(key).\(innerKey)", innerShape, options: options)
                }
            } else if components.count == 1, sections[key] != nil, !isAlsoSetting {
                throw .wrongType(key: key, source: .file(path: path, key: key), expected: "an object of settings for monsync \(key)")
            } else if components.count == 2, let options = sections[components[0]] {
                try checkSetting(key, shape, options: options)
            } else if components.count == 1 {
                try checkSetting(key, shape, options: everywhere)
            } else {
                throw unknown(key)
            }
        }
    }

    /// The known key closest to `key` when it is a likely typo (at most two edits away).
    static func nearest(to key: String, among known: Set<String>) -> String? {
        let scored = known.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= 2 }
        return scored.min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    /// Levenshtein distance over characters.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
