import Configuration
import Synchronization

/// Tells which provider of a `ConfigReader` answered the last lookup, so a setting can say where it
/// came from (swift-configuration reports every lookup to an `AccessReporter`, with each provider's answer).
final class LookupRecorder: AccessReporter {
    /// What the last lookup found, and where.
    enum Outcome {
        /// No provider has the key.
        case absent
        /// The provider at this index (of the reader's list) has it.
        case found(provider: Int)
        /// The provider at this index has the key, but not in the shape asked for (or failed otherwise).
        case failure(provider: Int, any Error)
    }

    private let last = Mutex<AccessEvent?>(nil)

    func report(_ event: AccessEvent) { last.withLock { $0 = event } }

    /// The outcome of the latest lookup (each `ConfigReader` get reports synchronously, before it returns).
    func outcome() -> Outcome {
        // The providers are asked in order until one has the key or fails: the answer is the last
        // one asked. (The event's own `result` is no help: a non-throwing get reports a failure as nil.)
        guard let event = last.withLock({ $0 }), let answer = event.providerResults.last else { return .absent }
        let provider = event.providerResults.count - 1
        switch answer.result {
        case let .failure(error): return .failure(provider: provider, error)
        case let .success(lookup): return lookup.value == nil ? .absent : .found(provider: provider)
        }
    }
}
