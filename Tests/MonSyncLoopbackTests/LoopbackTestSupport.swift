import Clocks
import MonSyncCore
import MonSyncLoopback
import Testing

/// Pulls events from a transport in the background, so tests can wait for them with a timeout.
final class EventCollector: Sendable {
    private let inbox = EventBuffer()
    private let task: Task<Void, Never>

    init(_ transport: LoopbackTransport) {
        let inbox = inbox
        task = Task {
            for await event in transport.events { inbox.append(event) }
            inbox.finish()
        }
    }

    var messages: [[UInt8]] { inbox.events.compactMap { if case let .message(m) = $0 { m.bytes } else { nil } } }
    var peerEvents: [PeerEvent] {
        inbox.events.compactMap {
            switch $0 {
            case let .peerUp(peer): .up(peer)
            case let .peerDown(peer): .down(peer)
            case .message: nil
            }
        }
    }
    var isFinished: Bool { inbox.isFinished }

    /// Waits (real time) until `condition` holds, recording a test issue after `timeout`.
    func wait(_ what: String, timeout: Duration = .seconds(10), until condition: () -> Bool) async {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !condition() {
            if clock.now > deadline {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    func stop() { task.cancel() }
}

import Synchronization

final class EventBuffer: Sendable {
    private let state = Mutex<(events: [TransportEvent], finished: Bool)>(([], false))
    func append(_ event: TransportEvent) { state.withLock { $0.events.append(event) } }
    func finish() { state.withLock { $0.finished = true } }
    var events: [TransportEvent] { state.withLock { $0.events } }
    var isFinished: Bool { state.withLock { $0.finished } }
}

/// A message whose bytes say who sent it and its number, for ordering checks.
func numbered(_ sender: UInt8, _ n: Int) -> [UInt8] {
    [sender] + withUnsafeBytes(of: UInt32(n).littleEndian, Array.init)
}

func number(of bytes: [UInt8]) -> (sender: UInt8, n: Int) {
    (bytes[0], Int(UInt32(bytes[1]) | UInt32(bytes[2]) << 8 | UInt32(bytes[3]) << 16 | UInt32(bytes[4]) << 24))
}

/// Lets tasks woken by a clock advance run before the test looks.
func settle() async {
    for _ in 0..<50 { await Task.yield() }
    try? await Task.sleep(for: .milliseconds(5))
}
