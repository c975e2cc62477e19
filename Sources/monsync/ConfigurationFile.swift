import Configuration
import Foundation
import SystemPackage

/// The file `--config` (or `MONSYNC_CONFIG`) names.
///
/// Either a JSON object of settings — the long flags without their dashes, at the top for every
/// command, or under a command's name (`"node": {…}`) for that command alone — or, as before
/// there were settings, a monmap: one `name=URL` line per monitor, which ``ClusterOptions`` reads.
/// A file is JSON when its name ends in `.json` or its first character other than blank space is `{`.
enum ConfigurationFile {
    /// A JSON file of settings, read through swift-configuration.
    case settings(path: String, provider: FileProvider<JSONSnapshot>)
    /// A legacy monmap file of `name=URL` lines.
    case monmapLines(path: String)

    /// Reads the file at `path`, checking every key and the shape of every value against `catalog`.
    static func load(path: String, catalog: OptionCatalog) async throws(ConfigurationError) -> ConfigurationFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedFailureReason ?? error.localizedDescription)
        }
        guard isJSON(path: path, contents: data) else { return .monmapLines(path: path) }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ConfigurationError.malformedFile(path: path, reason: "the top level is not an object")
            }
            object = parsed
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw .malformedFile(path: path, reason: (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")
        }
        try check(object, path: path, catalog: catalog)
        do {
            return .settings(path: path, provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
        } catch {
            throw .malformedFile(path: path, reason: "\(error)")
        }
    }

    /// Whether the file at `path` with `contents` is JSON: its name ends in `.json`, or its first
    /// character other than blank space is `{` (no `name=URL` line starts so).
    static func isJSON(path: String, contents: Data) -> Bool {
        let first = contents.first { !Set(" \t\r\n".utf8).contains($0) }
        return path.hasSuffix(".json") || first == UInt8(ascii: "{")
    }

    /// Refuses a key that is no setting and a value of the wrong shape, before anything is read.
    private static func check(_ object: [String: Any], path: String, catalog: OptionCatalog) throws(ConfigurationError) {
        let commands = catalog.leafCommands.filter(\.isConfigurable)
        let sections = Dictionary(grouping: commands, by: \.section).mapValues { $0.flatMap(\.options) }
        let everywhere = commands.flatMap(\.options)
        let known = Set(everywhere.map(\.key)).union(sections.flatMap { section, options in options.map { "\(section).\($0.key)" } })
        func unknown(_ key: String) -> ConfigurationError {
            .unknownKey(key: key, path: path, suggestion: Self.nearest(to: key, among: known))
        }
        func checkSetting(_ key: String, _ value: Any, options: [OptionCatalog.Option]) throws(ConfigurationError) {
            let name = key.split(separator: ".").last.map(String.init) ?? key
            guard let option = options.first(where: { $0.key == name }) else { throw unknown(key) }
            let source = SettingSource.file(path: path, key: key)
            if let reason = OptionCatalog.Option.commandLineOnly[option.key] {
                throw .commandLineOnly(key: key, source: source, reason: reason)
            }
            let kind = JSONKind(value)
            if option.isFlag {
                guard kind == .bool else { throw .wrongType(key: key, source: source, expected: "true or false") }
            } else if option.isRepeating {
                guard kind == .string || kind == .number || kind == .stringList else {
                    throw .wrongType(key: key, source: source, expected: "a string or a list of strings")
                }
            } else {
                guard kind == .string || kind == .number || kind == .stringList else {
                    throw .wrongType(key: key, source: source, expected: "a string or a number")
                }
            }
        }
        for (key, value) in object {
            let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if components.count == 1, let options = sections[key] {
                guard let nested = value as? [String: Any] else {
                    throw .wrongType(key: key, source: .file(path: path, key: key), expected: "an object of settings for monsync \(key)")
                }
                for (innerKey, innerValue) in nested {
                    try checkSetting("\(key).\(innerKey)", innerValue, options: options)
                }
            } else if components.count == 2, let options = sections[components[0]] {
                try checkSetting(key, value, options: options)
            } else if components.count == 1 {
                try checkSetting(key, value, options: everywhere)
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

    /// The shape of a value JSONSerialization produced.
    private enum JSONKind {
        case bool, number, string, stringList, other

        init(_ value: Any) {
            if let number = value as? NSNumber {
                // A JSON true or false is a boolean NSNumber, which also converts to Int: tell them apart by type.
                self = type(of: number) == type(of: NSNumber(value: true)) ? .bool : .number
            } else if value is String {
                self = .string
            } else if let list = value as? [Any], list.allSatisfy({ $0 is String }) {
                self = .stringList
            } else {
                self = .other
            }
        }
    }
}
