import Logging
import MonSyncCore
import MonSyncMonitor
import ServiceLifecycle
import UnixSignals
#if ZeroMQ
import MonSyncZeroMQ
#endif

/// What SIGHUP does to a secured node: the keyring file is read again and swapped in whole.
///
/// Keys added are admitted from their next handshake; keys removed are refused from then on
/// (connections they already opened stay until they close — restart the node to cut them at once).
/// A file that cannot be used changes nothing: the node keeps the keyring it had and logs why.
/// The node's own key pair is not reloaded (that takes a restart).
///
/// The keys monitors must present at their addresses follow the monmap the node follows: when a
/// membership change commits, ``monmapChanged(_:logger:)`` reloads the keyring against the new map
/// (a new member's key must be in the file by then: add it and send SIGHUP before `mon add`).
struct KeyringReload: Sendable {
    let options: SecurityOptions
    /// The monmap the node follows now.
    let monmap: LockedState<MonMap>
    #if ZeroMQ
    let keyring: CurveKeyring
    #endif

    #if ZeroMQ
    init(options: SecurityOptions, monmap: MonMap, keyring: CurveKeyring) {
        self.options = options
        self.monmap = LockedState(monmap)
        self.keyring = keyring
    }
    #endif

    /// Follows `map`: the keyring is read again so each member's address maps to its key.
    func monmapChanged(_ map: MonMap, logger: Logger) {
        monmap.withLock { $0 = map }
        perform(logger: logger, reason: "monmap e\(map.epoch)")
    }

    /// Reloads, and logs the outcome.
    func perform(logger: Logger, reason: String = "SIGHUP") {
        #if ZeroMQ
        do {
            let admitted = try options.reloadKeyring(into: keyring, monmap: monmap.withLock { $0 })
            logger.notice("\(reason): keyring reloaded", metadata: ["keyring": "\(options.keyring ?? "")", "keys": "\(admitted)"])
        } catch {
            logger.error("\(reason): keyring not reloaded, the previous one stays in force: \(error)")
        }
        #endif
    }
}

/// Handles SIGHUP for the node's whole life: reloads the keyring when there is one; otherwise
/// says there is nothing to reload (logs go to standard error: nothing to reopen). Either way
/// SIGHUP never ends the node.
struct HangupHandler: Service {
    let reload: KeyringReload?
    let logger: Logger
    let signals: UnixSignalsSequence

    /// Traps SIGHUP at once, so that one arriving before the service runs is not fatal.
    init(reload: KeyringReload?, logger: Logger) async {
        self.reload = reload
        self.logger = logger
        signals = await UnixSignalsSequence(trapping: .sighup)
    }

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            if let reload {
                reload.perform(logger: logger)
            } else {
                logger.notice("SIGHUP: no keyring to reload; logs go to standard error, nothing to reopen")
            }
        }
    }
}
