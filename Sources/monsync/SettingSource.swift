/// Where a setting of a `monsync` command came from: the command line, a `MONSYNC_*` variable, or
/// the configuration file (in that order of precedence).
enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case commandLine
    /// The environment variable `name`.
    case environment(name: String)
    /// The configuration file at `path`, under `key` (`node.lease` for the key `lease` of the `node` section).
    case file(path: String, key: String)

    var description: String {
        switch self {
        case .commandLine: "the command line"
        case let .environment(name): "the environment variable \(name)"
        case let .file(path, key): "\(path) (key \(key))"
        }
    }
}
