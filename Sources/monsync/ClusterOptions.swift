import ArgumentParser
import Foundation
import Logging
import MonSyncCore
import MonSyncLoopback
import MonSyncMessages
import MonSyncMonitor
#if ZeroMQ
import MonSyncZeroMQ
#endif

/// The options that name the cluster's monitors: `--monmap`, `--mon` or `--config`.
struct ClusterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The monitors, as name=URL pairs separated by commas, ranks in order.",
                               valueName: "a=tcp://127.0.0.1:7001,b=…"))
    var monmap: String?

    @Option(name: .customLong("mon"), help: ArgumentHelp(
        "The URL of one monitor (repeat it for several); an alternative to --monmap for clients.", valueName: "url"))
    var monitors: [String] = []

    @Option(help: ArgumentHelp("A configuration file: settings as a JSON object (or YAML, named .yaml), which may hold the monmap (docs/CLI.md, \"Configuration\"); or, as before, one name=URL line per monitor (# starts a comment).",
                               valueName: "file"))
    var config: String?

    @OptionGroup(title: "Keys (CURVE authentication and encryption of ZeroMQ links)")
    var security: SecurityOptions

    /// The monmap the options describe.
    ///
    /// - Parameter allowAnonymous: whether bare `--mon` URLs are accepted (clients). The client does not
    ///   know their names or ranks, so each is named by its own URL (`MonMap.isAnonymous(_:)`);
    ///   `status` reports the names and ranks the monitors give.
    func resolve(allowAnonymous: Bool) throws -> MonMap {
        var pairs: [(name: String, address: String)] = []
        if let monmap {
            do { pairs += try MonMap(parsing: monmap).members.map { ($0.name, $0.address) } } catch {
                throw UserFacingError.invalidMonmap("\(error)")
            }
        }
        if let config { pairs += try Self.readConfig(config) }
        if allowAnonymous {
            for url in monitors { pairs.append((url, url)) }
        }
        guard !pairs.isEmpty else { throw UserFacingError.noMonitors }
        do { return try MonMap(named: pairs) } catch { throw UserFacingError.invalidMonmap("\(error)") }
    }

    /// The `name=URL` lines of a legacy monmap file; none for a file of settings (its monmap,
    /// if it has one, arrived as `--monmap` through ``ConfiguredArguments``).
    static func readConfig(_ path: String) throws -> [(name: String, address: String)] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw UserFacingError.invalidConfig(path: path, detail: "cannot read it: \(error.localizedDescription)")
        }
        if ConfigurationFile.Format.of(path: path, contents: data) != .monmapLines { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var pairs: [(name: String, address: String)] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw UserFacingError.invalidConfig(path: path, detail: "line \(number + 1) is not name=URL: \(trimmed)")
            }
            let name = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let url = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            pairs.append((name, url))
        }
        guard !pairs.isEmpty else { throw UserFacingError.invalidConfig(path: path, detail: "it names no monitor") }
        return pairs
    }
}

/// The log level option shared by the commands that log.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }

    /// Sends every logger to standard error at this level, in `format`.
    func bootstrap(format: LogFormatOption) { format.bootstrap(level: level) }
}

/// The transports `monsync` knows, by URL scheme.
enum Transports {
    /// A registry with the loopback transport and, when built with the `ZeroMQ` trait, ZeroMQ
    /// (plaintext).
    static func registry(logger: Logger) -> TransportRegistry {
        var registry = TransportRegistry()
        registry.register(LoopbackTransportFactory())
        #if ZeroMQ
        registry.register(ZeroMQTransportFactory(logger: logger))
        #endif
        return registry
    }

    /// The registry for a process of `cluster`: ZeroMQ with CURVE when `cluster` gives keys
    /// (each monitor of `monmap` bound to its key), plaintext otherwise.
    ///
    /// - Throws: ``UserFacingError/plaintextNotChosen(addresses:)`` when `monmap` has tcp:// or
    ///   ipc:// monitors and `cluster` gives neither keys nor `--insecure-plaintext`.
    static func registry(logger: Logger, cluster: ClusterOptions, monmap: MonMap) throws -> TransportRegistry {
        try secured(logger: logger, cluster: cluster, monmap: monmap).registry
    }

    /// The registry for a process of `cluster`, and the keyring its ZeroMQ transport admits
    /// (shared: what `SIGHUP` reloads into); no keyring without keys.
    /// `bindAddress` (a node's `--bind-address`) is where its ZeroMQ transport listens, if not on its monmap address.
    static func secured(logger: Logger, cluster: ClusterOptions, monmap: MonMap,
                        bindAddress: TransportAddress? = nil) throws -> (registry: TransportRegistry, keyring: KeyringReload?) {
        try cluster.security.checkPlaintextChosen(for: monmap.members.compactMap { try? TransportAddress($0.address) })
        var registry = TransportRegistry()
        registry.register(LoopbackTransportFactory())
        #if ZeroMQ
        let security = try cluster.security.security(monmap: monmap)
        registry.register(ZeroMQTransportFactory(configuration: ZeroMQConfiguration(security: security, bindAddress: bindAddress), logger: logger))
        let reload = security.map { KeyringReload(options: cluster.security, monmap: monmap, keyring: $0.keyring) }
        return (registry, reload)
        #else
        if cluster.security.isSecured { throw UserFacingError.invalidKeys(detail: "this monsync was built without ZeroMQ") }
        if let bindAddress { throw UserFacingError.invalidAddress(bindAddress.description, reason: "a bind address needs ZeroMQ, and this monsync was built without it") }
        return (registry, nil)
        #endif
    }
}

extension MonMap {
    /// Whether `member` came from a bare `--mon` URL (named by its URL): its name and rank are not the cluster's.
    static func isAnonymous(_ member: MonitorEntity) -> Bool { member.name == member.address }

    /// The members for a message: `name=URL`, or the URL alone for a bare `--mon`.
    var described: [String] {
        members.map { Self.isAnonymous($0) ? $0.address : "\($0.name)=\($0.address)" }
    }
}

extension Double {
    /// These seconds as a `Duration` (validated non-negative by the commands).
    var seconds: Duration { .nanoseconds(Int64((self * 1e9).rounded())) }
}

extension Duration {
    /// The duration in seconds, for defaults shown in `--help`.
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
