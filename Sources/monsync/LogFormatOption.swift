import ArgumentParser
import Logging

/// `--log-format`: how log entries are written to standard error.
enum LogFormatOption: String, ExpressibleByArgument, CaseIterable {
    /// swift-log's `StreamLogHandler` lines, for people: `2026-05-04T09:30:12+0000 info monsync.node: … message`.
    case text
    /// One JSON object per line (``JSONLogHandler``), for log shippers.
    case json

    /// Sends every logger to standard error, in this format, at `level` and above.
    func bootstrap(level: Logger.Level) {
        switch self {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        }
    }
}
