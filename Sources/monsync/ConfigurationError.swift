/// Why the configuration file or a `MONSYNC_*` variable cannot be used; every case names the
/// setting and where it came from. The command exits 64 (usage), as for a wrong flag.
enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The file cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not a JSON object or a YAML mapping (nor a legacy list of `name=URL` lines).
    case malformedFile(path: String, reason: String)
    /// A key of the file is no setting of any command that reads the file (a typo, most often).
    case unknownKey(key: String, path: String, suggestion: String?)
    /// A value has the wrong shape for its setting: a list for a single value, a string for a flag, ….
    case wrongType(key: String, source: SettingSource, expected: String)
    /// An option of one invocation (`--tid`, `--config` itself) was set in the file, for `reason`.
    case commandLineOnly(key: String, source: SettingSource, reason: String)
    /// The command refused a value that came from `source`, for `reason` (the command's own words).
    case invalidValue(key: String, source: SettingSource, value: String, reason: String)
    /// ArgumentParser's description of the commands could not be read (a bug of monsync itself).
    case internalFailure(String)

    var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            "cannot read the configuration file \(path) (\(reason))"
        case let .malformedFile(path, reason):
            "the configuration file \(path) cannot be read as settings (\(reason)); write one JSON object, or a YAML mapping in a .yaml file, of settings (docs/CLI.md, \"Configuration\")"
        case let .unknownKey(key, path, suggestion):
            "the configuration file \(path) sets \(key), which is no setting of monsync"
                + (suggestion.map { "; did you mean \($0)?" } ?? "; the settings are the long flags without their dashes (docs/CLI.md, \"Configuration\")")
        case let .wrongType(key, source, expected):
            "the setting \(key) from \(source) must be \(expected)"
        case let .commandLineOnly(key, source, reason):
            "\(key) is set in \(source), but only the command line gives it: \(reason)"
        case let .invalidValue(key, source, value, reason):
            "the setting \(key) = \(value.debugDescription) from \(source) is invalid: \(reason)"
        case let .internalFailure(detail):
            "internal error: \(detail)"
        }
    }
}
