#if ZeroMQ
import Foundation
import Glibc
import MonSyncCore
import MonSyncTestSupport
import MonSyncZeroMQ
import Synchronization
import Testing

enum Addresses {
    private static let sequence = Atomic<Int>(0)

    /// A fresh address of `scheme`: a free loopback port, a new socket file, or a new inproc name.
    static func make(_ scheme: String) -> TransportAddress {
        let n = sequence.add(1, ordering: .relaxed).newValue
        switch scheme {
        case "tcp": return try! TransportAddress("tcp://127.0.0.1:\(freeTCPPort())")
        case "ipc": return try! TransportAddress("ipc:///tmp/monsync-zmq-test-\(getpid())-\(n).sock")
        default: return try! TransportAddress("inproc://monsync-test-\(getpid())-\(n)")
        }
    }
}

/// Options with short timeouts, so that a test that fails does not wait long.
func testOptions(sendTimeout: Duration = .seconds(5), queueCapacity: Int = 1000,
                 maximumMessageSize: Int = TransportOptions().maximumMessageSize) -> TransportOptions {
    TransportOptions(maximumMessageSize: maximumMessageSize, sendTimeout: sendTimeout, queueCapacity: queueCapacity)
}

/// Starts a transport on a fresh address of `scheme`, retrying with another port if one was taken meanwhile.
func startedTransport(_ scheme: String, options: TransportOptions = testOptions(),
                      configuration: ZeroMQConfiguration = ZeroMQConfiguration()) async throws -> ZeroMQTransport {
    var attempts = 0
    while true {
        attempts += 1
        let transport = try ZeroMQTransport(address: Addresses.make(scheme), options: options, configuration: configuration)
        let result: Result<Void, TransportError>
        do { result = .success(try await transport.start()) } catch { result = .failure(error) }
        switch result {
        case .success: return transport
        case let .failure(error):
            var addressTaken = false
            if case .bindFailed = error { addressTaken = true }
            if !addressTaken || attempts >= 5 { throw error }
        }
    }
}

/// Starts a transport on `address` (a restart at a known address).
func startedTransport(at address: TransportAddress, options: TransportOptions = testOptions()) async throws -> ZeroMQTransport {
    let transport = try ZeroMQTransport(address: address, options: options)
    try await transport.start()
    return transport
}

/// Consumes a transport's events in the background and lets a test wait for what it expects.
final class EventCollector: Sendable {
    private final class Store: Sendable {
        let received = LockedState<[TransportEvent]>([])
        let finished = LockedState(false)
    }

    private let store = Store()
    private let task: Task<Void, Never>

    init(_ transport: any MessageTransport) {
        let store = store
        task = Task {
            for await event in transport.events { store.received.withLock { $0.append(event) } }
            store.finished.withLock { $0 = true }
        }
    }

    deinit { task.cancel() }

    var events: [TransportEvent] { store.received.withLock { $0 } }
    var isFinished: Bool { store.finished.withLock { $0 } }

    var messages: [InboundMessage] {
        events.compactMap { if case let .message(message) = $0 { message } else { nil } }
    }

    func ups(of peer: TransportAddress) -> Int {
        events.filter { if case let .peerUp(p) = $0 { p == peer } else { false } }.count
    }

    func downs(of peer: TransportAddress) -> Int {
        events.filter { if case let .peerDown(p) = $0 { p == peer } else { false } }.count
    }

    /// Waits until `condition` holds on the collected events, or throws after `timeout`.
    func wait(_ what: String, timeout: Duration = .seconds(10), until condition: ([TransportEvent]) -> Bool) async throws {
        try await eventually(what, timeout: timeout) { condition(self.events) }
    }
}

/// Runs `operation`, failing with ``TimedOut`` if it takes longer than `timeout` (the operation is cancelled).
func withTimeout<T: Sendable>(_ what: String, _ timeout: Duration,
                              _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

#endif

