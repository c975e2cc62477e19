import ArgumentParser
import MonSyncCore
import MonSyncMessages
import MonSyncMonitor
import MonSyncStore

/// Every failure `monsync` reports to a person, as one sentence: what is wrong and what to do.
///
/// All the mappings from library errors (transport, store, monmap, client) to
/// these sentences live here, so the wording is consistent and easy to review.
/// ArgumentParser prints the ``description`` as `Error: …` on standard error and
/// exits with status 1; its own errors (a wrong flag, a missing argument) keep
/// their usual text and status 64. The client commands print the sentence
/// themselves and exit with ``clientExitCode`` (``ClientOptions/withClient(clientID:_:)``).
enum UserFacingError: Error, CustomStringConvertible {
    /// Another process listens on the node's address.
    case addressInUse(String)
    /// The node's address cannot be listened on for another reason.
    case cannotListen(String, reason: String)
    /// No registered transport serves the address's scheme.
    case unsupportedScheme(String, known: [String])
    /// An address is not a transport URL.
    case invalidAddress(String, reason: String)
    /// A client cannot reach nodes of another process on this scheme.
    case inProcessOnly(String)
    /// No monitor answered before the timeout.
    case unreachable(monitors: [String], timeout: Duration)
    /// Monitors answered, but none could carry out the command (no quorum, …); for a write, nothing was applied.
    case noDefiniteAnswer(monitors: [String], lastReply: String)
    /// `status`: monitors answered, but none is in a quorum.
    case noQuorum(answered: Int, of: Int)
    /// A write got no definite answer in time and may have been applied: how to resend it safely.
    case outcomeUnknown(write: String, monitors: [String], timeout: Duration, lastReply: String?, clientID: UInt64, tid: UInt64)
    /// The monitors refused the command.
    case refused(String)
    /// A request no monitor would serve (an empty key, a key or value over the limits); nothing was sent.
    case invalidRequest(String)
    /// `put`: the value from a file or standard input is over the limit (the monitors' TOO_LARGE); nothing was sent.
    case valueTooLarge(source: String, size: Int?, limit: Int)
    /// `put --value-file`: the file cannot be read; nothing was sent.
    case unreadableValue(source: String, reason: String)
    /// `list --limit`: stopped after `count` keys, more follow after `last`.
    case listIncomplete(count: Int, last: String)
    /// `get` of a key that has no value.
    case keyNotFound(String)
    /// Another process has the store open.
    case storeLocked(String)
    /// The store's files do not decode.
    case storeCorrupt(String, detail: String)
    /// A read-only store command was pointed at a directory that holds no store.
    case storeMissing(String)
    /// Any other store failure.
    case storeFailed(String, detail: String)
    /// The node's name is not a member of the monmap.
    case notInMonmap(name: String, members: [String])
    /// `node --join`: the monmap the member follows does not name this monitor yet.
    case notYetAdded(name: String, member: String, epoch: UInt32, members: [String])
    /// `node --join`: no monmap could be fetched from the member.
    case joinFailed(member: String, detail: String)
    /// The monmap does not parse or is inconsistent.
    case invalidMonmap(String)
    /// The configuration file cannot be read or parsed.
    case invalidConfig(path: String, detail: String)
    /// Neither `--monmap`, `--mon` nor `--config` named a monitor.
    case noMonitors
    /// `--key` / `--keyring` cannot be used.
    case invalidKeys(detail: String)
    /// ZeroMQ over a network (tcp://, ipc://) without keys, and without `--insecure-plaintext`.
    case plaintextNotChosen(addresses: [String])
    /// The monitor failed while running.
    case monitorFailed(String)
    /// `bench` ran, but not one of its requests succeeded.
    case benchFailed(requests: Int, detail: String, seconds: Double)
    /// `bench --latency-log`: the file cannot be written.
    case cannotWrite(path: String, reason: String)
    /// The node's admin endpoint (`--admin-address`) could not listen.
    case adminEndpointFailed(String)

    var description: String {
        switch self {
        case let .addressInUse(address):
            "address \(address) is in use: another process listens there; pick another port or stop it"
        case let .cannotListen(address, reason):
            "cannot listen on \(address) (\(reason)); use an address of this machine in the monmap"
        case let .unsupportedScheme(scheme, known):
            "no transport for '\(scheme)://' addresses; use one of \(known.map { "\($0)://" }.joined(separator: ", "))"
        case let .invalidAddress(address, reason):
            "'\(address)' is not a valid address (\(reason)); write it as tcp://HOST:PORT, ipc:///PATH or loopback://NAME"
        case let .inProcessOnly(address):
            "\(address) can only be reached from inside the node's own process; give the monitors tcp:// or ipc:// addresses"
        case let .unreachable(monitors, timeout):
            "no monitor answered within \(Self.seconds(timeout)) (tried \(monitors.joined(separator: ", "))); check that they run and that the monmap is right"
        case let .noDefiniteAnswer(monitors, lastReply):
            "the monitors (\(monitors.joined(separator: ", "))) answered but could not serve the command in time (last reply: \(lastReply)); wait for a quorum and retry"
        case let .noQuorum(answered, total):
            "no monitor is in a quorum (\(answered) of \(total) answered); wait for the election to finish, or start enough monitors to make a majority"
        case let .outcomeUnknown(write, monitors, timeout, lastReply, clientID, tid):
            "the outcome of \(write) is unknown: "
                + (lastReply.map { "no definite answer within \(Self.seconds(timeout)) (last reply: \($0))" }
                    ?? "no monitor answered within \(Self.seconds(timeout)) (tried \(monitors.joined(separator: ", ")))")
                + "; it may have been applied: check with monsync get, or resend it with --client-id \(clientID) --tid \(tid) (applied at most once)"
        case let .refused(message):
            "the monitors refused the command: \(message)"
        case let .invalidRequest(message):
            "invalid request: \(message); nothing was sent"
        case let .valueTooLarge(source, size, limit):
            "too_large: the value from \(source) is \(size.map { "\($0) bytes" } ?? "more than \(limit) bytes"), over the limit of \(limit) bytes; nothing was sent"
        case let .unreadableValue(source, reason):
            "cannot read the value from \(source) (\(reason)); nothing was sent"
        case let .listIncomplete(count, last):
            "stopped after \(count) keys (--limit); more follow: continue with --after \(Self.quoted(last))"
        case let .keyNotFound(key):
            "no value for key '\(key)'; list the keys with monsync list"
        case let .storeLocked(path):
            "the store \(path) is in use by another process (a running monsync node?); stop that process or use another directory"
        case let .storeCorrupt(path, detail):
            "the store \(path) is corrupt (\(detail)); restore it from a backup, or remove it and let the node sync a fresh copy"
        case let .storeMissing(path):
            "there is no store in \(path); give the directory of a node's store, or create one with monsync store load"
        case let .storeFailed(path, detail):
            "the store \(path) failed (\(detail)); check the directory's permissions and free space"
        case let .notInMonmap(name, members):
            "mon.\(name) is not in the monmap (members: \(members.joined(separator: ", "))); pass one of those names with --name or add \(name)=URL to the monmap"
        case let .notYetAdded(name, member, epoch, members):
            "mon.\(name) is not in monmap e\(epoch) that \(member) follows (members: \(members.joined(separator: ", "))); add it first: monsync mon add \(name) URL --mon \(member)"
        case let .joinFailed(member, detail):
            "cannot fetch the monmap from \(member) to join: \(detail); check that it runs and that --join names a member's address"
        case let .invalidMonmap(detail):
            "the monmap is invalid (\(detail)); write it as name=URL,name=URL, e.g. a=tcp://127.0.0.1:7001"
        case let .invalidConfig(path, detail):
            "cannot use the configuration file \(path) (\(detail)); write a JSON object of settings, or one name=URL line per monitor"
        case let .invalidKeys(detail):
            "cannot use the keys: \(detail) (see docs/SECURITY.md)"
        case let .plaintextNotChosen(addresses):
            "no keys given for \(addresses.joined(separator: ", ")): pass --key and --keyring (monsync keygen; docs/SECURITY.md), or --insecure-plaintext to run without authentication or encryption (anyone who can reach the port can then read, write and sync the store)"
        case .noMonitors:
            "no monitors given; pass --monmap a=tcp://HOST:PORT,…, --mon tcp://HOST:PORT or --config FILE"
        case let .monitorFailed(detail):
            "the monitor stopped with an error (\(detail)); see the log above"
        case let .adminEndpointFailed(detail):
            "\(detail); pick another --admin-address, or stop what listens there"
        case let .benchFailed(requests, detail, seconds):
            "no request succeeded in \(BenchSummary.format(seconds, decimals: 1)) s (\(requests) failed\(detail.isEmpty ? "" : ": \(detail)")); check the cluster with monsync status"
        case let .cannotWrite(path, reason):
            "cannot write \(path): \(reason)"
        }
    }

    /// The exit status of a client command that failed with this error (``ClientExitCode``).
    var clientExitCode: ClientExitCode {
        switch self {
        case .keyNotFound: .notFound
        case .noDefiniteAnswer, .noQuorum: .noQuorum
        case .unreachable: .unreachable
        case .outcomeUnknown: .outcomeUnknown
        case .refused: .refused
        case .listIncomplete: .incomplete
        case .invalidRequest, .valueTooLarge, .unreadableValue, .invalidMonmap, .invalidConfig, .invalidKeys, .plaintextNotChosen, .noMonitors,
             .unsupportedScheme, .invalidAddress, .inProcessOnly,
             .notInMonmap, .notYetAdded:
            .usage
        case .joinFailed:
            .unreachable
        case .addressInUse, .cannotListen, .storeLocked, .storeCorrupt, .storeMissing, .storeFailed, .monitorFailed, .benchFailed,
             .adminEndpointFailed, .cannotWrite:
            .software
        }
    }

    /// `key`, or `'key'` when the shell would split or expand it.
    static func quoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil || "-_./:@".unicodeScalars.contains($0) }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `2 s`, `0.5 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        return "\(Double(seconds) + Double(attoseconds) / 1e18) s"
    }

    // MARK: Mappings

    /// The sentence for a transport failure on `address`.
    static func from(_ error: TransportError) -> UserFacingError {
        switch error {
        case let .bindFailed(address, reason):
            let lower = reason.lowercased()
            if lower.contains("in use") { return .addressInUse(address.description) }
            return .cannotListen(address.description, reason: reason)
        case let .unsupportedScheme(scheme, known): return .unsupportedScheme(scheme, known: known)
        case let .invalidAddress(address, reason): return .invalidAddress(address, reason: reason)
        default: return .monitorFailed("\(error)")
        }
    }

    /// The sentence for a failure of the store in `path`.
    static func from(_ error: StoreError, path: String) -> UserFacingError {
        switch error {
        case let .backend(message):
            let lower = message.lowercased()
            if lower.contains("lock") && (lower.contains("temporarily unavailable") || lower.contains("held")
                || lower.contains("hold") || lower.contains("resource busy")) {
                return .storeLocked(path)
            }
            if lower.contains("corrupt") || lower.contains("bad magic") || lower.contains("checksum")
                || lower.contains("no such file") || lower.contains("does not end with newline") {
                return .storeCorrupt(path, detail: message)
            }
            return .storeFailed(path, detail: message)
        case .corrupt, .malformedValue:
            return .storeCorrupt(path, detail: "\(error)")
        default:
            return .storeFailed(path, detail: "\(error)")
        }
    }

    /// The sentence for a monitor that could not be created or run.
    static func from(_ error: MonitorError, storePath: String) -> UserFacingError {
        switch error {
        case let .transport(transport): return from(transport)
        case let .store(store): return from(store, path: storePath)
        default: return .monitorFailed("\(error)")
        }
    }

    /// The sentence for a client helper that gave up.
    ///
    /// - Parameters:
    ///   - error: what the client threw.
    ///   - monmap: the monitors asked, named in the sentence.
    ///   - timeout: how long the command waited, named in the sentence.
    ///   - write: for `put` and `delete`, what the write was (`put color`) and the identity that
    ///     resends it safely.
    static func from(_ error: MonitorClientError, monmap: MonMap, timeout: Duration,
                     write: (what: String, clientID: UInt64)? = nil) -> UserFacingError {
        let monitors = monmap.described
        func detail(_ reply: MMonCommandReply) -> String {
            reply.message.isEmpty ? "\(reply.result)" : "\(reply.result), \(reply.message)"
        }
        switch error {
        case .timedOut(lastReply: nil), .cancelled:
            return .unreachable(monitors: monitors, timeout: timeout)
        case let .timedOut(lastReply?):
            return .noDefiniteAnswer(monitors: monitors, lastReply: detail(lastReply))
        case let .outcomeUnknown(tid, lastReply):
            return .outcomeUnknown(write: write?.what ?? "the write", monitors: monitors, timeout: timeout,
                                   lastReply: lastReply.map(detail), clientID: write?.clientID ?? 0, tid: tid)
        case let .refused(reply):
            return .refused(detail(reply))
        case let .invalidRequest(message):
            return .invalidRequest(message)
        }
    }

    /// Runs `body`, turning every library error into a ``UserFacingError``; ArgumentParser's own
    /// errors and exit codes pass through unchanged.
    static func reporting<T>(storePath: String = "", _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as UserFacingError {
            throw error
        } catch let error as TransportError {
            throw from(error)
        } catch let error as StoreError {
            throw from(error, path: storePath)
        } catch let error as MonitorError {
            throw from(error, storePath: storePath)
        } catch let error as MonMapError {
            throw UserFacingError.invalidMonmap("\(error)")
        }
    }
}
