#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// A swift-log handler that writes every entry as one JSON object on one line of standard error
/// (`--log-format json`), for log shippers that parse lines rather than people who read them.
///
/// Each object has `timestamp` (ISO 8601, UTC, milliseconds), `level`, `label`, `message`,
/// `metadata` (an object: strings, arrays and objects as they were logged, anything else as its
/// description), `source` (the module), `file` and `line`, and `error` when the entry carries one.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    /// A handler for `label` that writes entries at `level` and above to standard error.
    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        logLevel = level
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        StandardErrorLines.write(line(for: event, at: Timestamp.now()))
    }

    /// The entry's JSON object and its newline, as written.
    func line(for event: LogEvent, at timestamp: Timestamp) -> String {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        var json = JSONText()
        json.open()
        json.field("timestamp", timestamp.iso8601)
        json.field("level", event.level.rawValue)
        json.field("label", label)
        json.field("message", event.message.description)
        json.key("metadata")
        json.metadata(.dictionary(merged))
        json.field("source", event.source)
        json.field("file", event.file)
        json.key("line")
        json.raw(String(event.line))
        if let error = event.error { json.field("error", String(describing: error)) }
        json.close()
        return json.text + "\n"
    }

    /// A wall-clock instant with millisecond resolution, rendered as ISO 8601 in UTC.
    struct Timestamp {
        var secondsSinceEpoch: Int
        var milliseconds: Int

        static func now() -> Timestamp {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            return Timestamp(secondsSinceEpoch: Int(now.tv_sec), milliseconds: Int(now.tv_nsec) / 1_000_000)
        }

        /// `2026-05-04T09:30:12.345Z`.
        var iso8601: String {
            var seconds = time_t(secondsSinceEpoch)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func padded(_ value: Int32, _ width: Int) -> String {
                let digits = String(value)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))"
                + "T\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))"
                + ".\(padded(Int32(milliseconds), 3))Z"
        }
    }

    /// Writes whole lines to standard error, one at a time, so lines from different threads never interleave.
    enum StandardErrorLines {
        private static let lock = Mutex(())

        static func write(_ line: String) {
            var bytes = Array(line.utf8)
            lock.withLock { _ in
                bytes.withUnsafeMutableBytes { buffer in
                    var offset = 0
                    while offset < buffer.count {
                        let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                        if written > 0 {
                            offset += written
                        } else if written < 0 && errno == EINTR {
                            continue
                        } else {
                            return  // standard error is gone: nowhere left to say so
                        }
                    }
                }
            }
        }
    }

    /// A JSON object under construction: keys and strings escaped as RFC 8259 requires.
    struct JSONText {
        private(set) var text = ""
        private var needsComma = [false]

        mutating func open() {
            text += "{"
            needsComma.append(false)
        }

        mutating func close() {
            text += "}"
            needsComma.removeLast()
        }

        mutating func key(_ key: String) {
            if needsComma[needsComma.count - 1] { text += "," }
            needsComma[needsComma.count - 1] = true
            string(key)
            text += ":"
        }

        mutating func field(_ key: String, _ value: String) {
            self.key(key)
            string(value)
        }

        mutating func raw(_ value: String) { text += value }

        mutating func metadata(_ value: Logger.Metadata.Value) {
            switch value {
            case let .string(string):
                self.string(string)
            case let .stringConvertible(convertible):
                self.string(convertible.description)
            case let .array(values):
                text += "["
                for (index, element) in values.enumerated() {
                    if index > 0 { text += "," }
                    metadata(element)
                }
                text += "]"
            case let .dictionary(dictionary):
                open()
                // Sorted: the same entry always renders the same, whatever the dictionary's order.
                for (key, element) in dictionary.sorted(by: { $0.key < $1.key }) {
                    self.key(key)
                    metadata(element)
                }
                close()
            }
        }

        mutating func string(_ value: String) {
            text += "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                case "\r": text += "\\r"
                case "\t": text += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default:
                    text.unicodeScalars.append(scalar)
                }
            }
            text += "\""
        }
    }
}
