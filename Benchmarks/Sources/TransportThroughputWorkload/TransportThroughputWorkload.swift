// Transport throughput: messages/s and MB/s of one sender streaming messages of one size to one
// receiver, over bare libzmq (DEALER -> ROUTER, plain C: the baseline), over ZeroMQTransport on
// tcp loopback, and over LoopbackTransport. Shared by the ordo-one benchmark and the plain
// `transport-throughput` executable (BENCHMARKS.md, "Transport throughput").
import CZMQBaseline
import Foundation
import Logging
import MonSyncCore
import MonSyncLoopback
import MonSyncZeroMQ

public enum TransportThroughputWorkload {
    public enum Path: String, CaseIterable, Sendable {
        case bareZeroMQ = "bare libzmq (C)"
        case zeroMQTransport = "ZeroMQTransport"
        case loopbackTransport = "LoopbackTransport"
        /// Diagnostics, one half of ours each: ZeroMQTransport sends, a bare ROUTER drains;
        case zeroMQToBare = "ZeroMQTransport → bare ROUTER"
        /// a bare DEALER sends, ZeroMQTransport receives.
        case bareToZeroMQ = "bare DEALER → ZeroMQTransport"
        /// ZeroMQTransport with CURVE (`ZeroMQConfiguration.security`): the same two transports on
        /// the shared context, each with its own key pair, one `CurveKeyring` admitting both keys
        /// and binding each address to its key, as a secured cluster's monitors have.
        case zeroMQCurve = "ZeroMQTransport (CURVE)"
        /// Diagnostics for the one-context setting above (one libzmq I/O thread encrypts for the
        /// sender and decrypts for the receiver): the two transports on a context each, as two
        /// processes would be, plaintext and CURVE.
        case zeroMQContexts = "ZeroMQTransport, a context each"
        case zeroMQCurveContexts = "ZeroMQTransport (CURVE), a context each"

        /// The three the issue asks for, and CURVE beside plaintext (the ordo-one benchmark runs these).
        public static let main: [Path] = [.bareZeroMQ, .zeroMQTransport, .zeroMQCurve, .loopbackTransport]

        /// Whether the path's transports run with CURVE.
        public var isCurve: Bool { self == .zeroMQCurve || self == .zeroMQCurveContexts }
        /// The plaintext path a CURVE path is compared with.
        public var plaintext: Path? {
            switch self {
            case .zeroMQCurve: .zeroMQTransport
            case .zeroMQCurveContexts: .zeroMQContexts
            default: nil
            }
        }
    }

    public struct Outcome: Sendable {
        public var messages: Int
        public var bytes: Int
        public var seconds: Double
        public var messagesPerSecond: Double { Double(messages) / seconds }
        /// MiB/s of message bodies.
        public var megabytesPerSecond: Double { Double(bytes) / 1_048_576 / seconds }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The sizes of the issue: 64 B, 4 KiB, 1 MiB, 16 MiB.
    public static let sizes = [64, 4 << 10, 1 << 20, 16 << 20]

    /// The same threshold as `ZeroMQConfiguration.zeroCopyThreshold`'s default: below it both the
    /// baseline and the transport copy into libzmq (zmq_send), at or above it both hand a buffer over.
    public static let zeroCopyThreshold = ZeroMQConfiguration().zeroCopyThreshold
    /// ZMQ_SNDHWM/ZMQ_RCVHWM for the baseline: the transport's default `queueCapacity`.
    public static let highWaterMark = TransportOptions().queueCapacity

    /// How many messages of `size` make one run of roughly 1–3 s on the test machine, times
    /// `scale`: 100 000 messages of 64 B, 50 000 of 4 KiB, 4 GiB of bodies from 1 MiB up. (One
    /// count per size for every path, so the slow paths take longer: ZeroMQTransport's 64 B run
    /// about 10 s, bare libzmq's well under a second.)
    public static func count(for size: Int, scale: Double = 1) -> Int {
        let base: Int
        switch size {
        case ..<1024: base = 100_000
        case ..<(64 << 10): base = 50_000
        default: base = max(16, (4 << 30) / size)
        }
        return max(1, Int((Double(base) * scale).rounded()))
    }

    public static func describe(size: Int) -> String {
        size >= 1 << 20 ? "\(size >> 20) MiB" : size >= 1024 ? "\(size >> 10) KiB" : "\(size) B"
    }

    public static func run(_ path: Path, size: Int, count: Int) async throws -> Outcome {
        switch path {
        case .bareZeroMQ: try runBare(size: size, count: count)
        case .zeroMQTransport: try await runZeroMQ(size: size, count: count)
        case .zeroMQCurve: try await runZeroMQ(size: size, count: count, curve: true)
        case .zeroMQContexts: try await runZeroMQ(size: size, count: count, separateContexts: true)
        case .zeroMQCurveContexts: try await runZeroMQ(size: size, count: count, curve: true, separateContexts: true)
        case .loopbackTransport: try await runLoopback(size: size, count: count)
        case .zeroMQToBare: try await runSendHalf(size: size, count: count)
        case .bareToZeroMQ: try await runReceiveHalf(size: size, count: count)
        }
    }

    // MARK: - Bare libzmq

    static func runBare(size: Int, count: Int) throws -> Outcome {
        let result = zmq_baseline_run(size, UInt64(count), zeroCopyThreshold, Int32(highWaterMark))
        guard result.error == 0, result.messages == UInt64(count) else {
            throw Failure(description: "bare libzmq: error \(result.error), \(result.messages)/\(count) messages")
        }
        return Outcome(messages: Int(result.messages), bytes: Int(result.bytes), seconds: result.seconds)
    }

    // MARK: - Our transports

    static func payload(size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
    }

    static func options(size: Int) -> TransportOptions {
        TransportOptions(maximumMessageSize: max(size, 64) + Frame.overhead, sendTimeout: .seconds(60))
    }

    /// Warnings and errors only: the info line each shutdown logs would cut the table.
    static var quiet: Logger {
        var logger = Logger(label: "monsync.zeromq")
        logger.logLevel = .warning
        return logger
    }

    /// The configurations of a CURVE sender and receiver: a fresh key pair each, one shared keyring
    /// admitting both keys (role monitor) with each address bound to its key.
    static func curveConfigurations(sender: TransportAddress, receiver: TransportAddress) throws
        -> (sender: ZeroMQConfiguration, receiver: ZeroMQConfiguration) {
        let senderKeys = try CurveKeyPair.generate(), receiverKeys = try CurveKeyPair.generate()
        let keyring = CurveKeyring()
        try keyring.admit(PeerIdentity(name: "sender", role: .monitor, credential: senderKeys.publicKey))
        try keyring.admit(PeerIdentity(name: "receiver", role: .monitor, credential: receiverKeys.publicKey))
        try keyring.bind(sender, to: senderKeys.publicKey)
        try keyring.bind(receiver, to: receiverKeys.publicKey)
        return (ZeroMQConfiguration(security: ZeroMQSecurity(keyPair: senderKeys, keyring: keyring)),
                ZeroMQConfiguration(security: ZeroMQSecurity(keyPair: receiverKeys, keyring: keyring)))
    }

    /// Two ZeroMQTransports on tcp loopback, plaintext or CURVE, on the shared context or a context each.
    static func runZeroMQ(size: Int, count: Int, curve: Bool = false, separateContexts: Bool = false) async throws -> Outcome {
        var lastError: (any Error)?
        for _ in 0..<10 {
            let receiverAddress = try TransportAddress("tcp://127.0.0.1:\(zmq_baseline_free_port())")
            let senderAddress = try TransportAddress("tcp://127.0.0.1:\(zmq_baseline_free_port())")
            var senderConfiguration = ZeroMQConfiguration(), receiverConfiguration = ZeroMQConfiguration()
            if curve {
                (senderConfiguration, receiverConfiguration) = try curveConfigurations(sender: senderAddress, receiver: receiverAddress)
            }
            let receiverContext = separateContexts ? ZeroMQContext() : .shared
            let senderContext = separateContexts ? ZeroMQContext() : .shared
            let receiver = try ZeroMQTransport(address: receiverAddress, options: options(size: size),
                                               configuration: receiverConfiguration, context: receiverContext, logger: quiet)
            let sender = try ZeroMQTransport(address: senderAddress, options: options(size: size),
                                             configuration: senderConfiguration, context: senderContext, logger: quiet)
            do {
                try await receiver.start()
                try await sender.start()
            } catch {
                // A port taken since it was picked: try two others.
                await sender.shutdown()
                await receiver.shutdown()
                lastError = error
                continue
            }
            let outcome = try await stream(from: sender, to: receiver, size: size, count: count)
            await sender.shutdown()
            await receiver.shutdown()
            return outcome
        }
        throw lastError ?? Failure(description: "no free port")
    }

    /// ZeroMQTransport sends to a bare ROUTER drained by a C thread: what our send path costs.
    static func runSendHalf(size: Int, count: Int) async throws -> Outcome {
        var endpoint = [CChar](repeating: 0, count: 64)
        guard let sink = zmq_baseline_sink_start(UInt64(count), Int32(highWaterMark), &endpoint, 64) else {
            throw Failure(description: "cannot start the bare sink")
        }
        let target = try TransportAddress(endpoint.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        let sender = try ZeroMQTransport(address: TransportAddress("tcp://127.0.0.1:\(zmq_baseline_free_port())"),
                                         options: options(size: size), logger: quiet)
        try await sender.start()
        let bytes = payload(size: size)
        try await sender.send(Array(bytes.prefix(64)), to: target) // warm-up: returns once connected
        let start = zmq_baseline_now()
        for _ in 0..<count {
            try await sender.send(bytes, to: target)
        }
        let result = zmq_baseline_sink_finish(sink) // blocks this thread until the C drain is done
        await sender.shutdown()
        guard result.error == 0, result.messages == UInt64(count) else {
            throw Failure(description: "bare sink: error \(result.error), \(result.messages)/\(count) messages")
        }
        return Outcome(messages: count, bytes: Int(result.bytes), seconds: result.seconds - start)
    }

    /// A bare DEALER (C, its own thread) sends to ZeroMQTransport: what our receive path costs.
    static func runReceiveHalf(size: Int, count: Int) async throws -> Outcome {
        let receiver = try ZeroMQTransport(address: TransportAddress("tcp://127.0.0.1:\(zmq_baseline_free_port())"),
                                           options: options(size: size), logger: quiet)
        try await receiver.start()
        let endpoint = receiver.localAddress.description
        let identity = "tcp://127.0.0.1:\(zmq_baseline_free_port())"
        let events = receiver.events
        let consumer = Task { () -> (messages: Int, bytes: Int, end: Double) in
            var messages = -1 // the warm-up
            var received = 0
            for await event in events {
                guard case let .message(message) = event else { continue }
                messages += 1
                if messages > 0 { received += message.bytes.count }
                if messages == count { break }
            }
            return (messages, received, zmq_baseline_now())
        }
        let threshold = zeroCopyThreshold, hwm = Int32(highWaterMark)
        let source = await withCheckedContinuation { (continuation: CheckedContinuation<zmq_baseline_result, Never>) in
            Thread {
                continuation.resume(returning: zmq_baseline_source(endpoint, identity, size, UInt64(count), threshold, hwm, 0.3))
            }.start()
        }
        let (messages, received, end) = await consumer.value
        await receiver.shutdown()
        guard source.error == 0, messages == count else {
            throw Failure(description: "bare source: error \(source.error), \(messages)/\(count) messages")
        }
        return Outcome(messages: count, bytes: received, seconds: end - source.seconds)
    }

    static func runLoopback(size: Int, count: Int) async throws -> Outcome {
        let network = LoopbackNetwork()
        let receiver = LoopbackTransport(address: "loopback://receiver", network: network, options: options(size: size))
        let sender = LoopbackTransport(address: "loopback://sender", network: network, options: options(size: size))
        try await receiver.start()
        try await sender.start()
        let outcome = try await stream(from: sender, to: receiver, size: size, count: count)
        await sender.shutdown()
        await receiver.shutdown()
        return outcome
    }

    /// One warm-up message (connection set-up, excluded), then `count` sends of one `size`-byte
    /// array, one after the other, timed from the first send until the receiver has them all.
    static func stream(from sender: some MessageTransport, to receiver: some MessageTransport,
                       size: Int, count: Int) async throws -> Outcome {
        let bytes = payload(size: size)
        let target = receiver.localAddress
        let events = receiver.events
        // The warm-up goes all the way through before the clock starts.
        try await sender.send(Array(bytes.prefix(64)), to: target)
        for await event in events {
            if case .message = event { break }
        }
        let start = ContinuousClock.now
        let consumer = Task { () -> (messages: Int, bytes: Int, end: ContinuousClock.Instant) in
            var messages = 0
            var received = 0
            for await event in events {
                guard case let .message(message) = event else { continue }
                messages += 1
                received += message.bytes.count
                if messages == count { break }
            }
            return (messages, received, ContinuousClock.now)
        }
        for _ in 0..<count {
            try await sender.send(bytes, to: target)
        }
        let (messages, received, end) = await consumer.value
        guard messages == count else {
            throw Failure(description: "received \(messages) of \(count) messages")
        }
        let seconds = Double((end - start).components.attoseconds) * 1e-18 + Double((end - start).components.seconds)
        return Outcome(messages: count, bytes: received, seconds: seconds)
    }
}
