import MonSyncCore
import MonSyncMessages

/// Builds MMonSync messages for tests: one canonical sample per op, and random ones from a seed.
enum MessageSamples {
    static let a = MonitorEntity(rank: 0, name: "a", address: "loopback://a")
    static let b = MonitorEntity(rank: 1, name: "b", address: "tcp://127.0.0.1:7001")
    static let c = MonitorEntity(rank: 2, name: "c", address: "ipc:///run/monsync/c.sock")

    /// The canonical message of each op, with every field the op uses set; these are the golden vectors.
    static let canonical: [(name: String, message: MMonSync)] = [
        ("start", MMonSync(op: .start, session: 0x1122_3344_5566_7788, requesterVersion: 17)),
        ("start_forwarded", MMonSync(op: .start, replyTo: a, session: 0x1122_3344_5566_7788, requesterVersion: 17)),
        ("start_reply", MMonSync(op: .startReply, replyTo: c, session: 0x1122_3344_5566_7788, firstCommitted: 501,
                                 quorum: [b, c])),
        ("start_reply_retry", MMonSync(op: .startReply, flags: .retry, session: 0x1122_3344_5566_7788, reason: .trimRequired)),
        ("heartbeat", MMonSync(op: .heartbeat, session: 0x1122_3344_5566_7788, sequence: 3)),
        ("heartbeat_reply", MMonSync(op: .heartbeatReply, session: 0x1122_3344_5566_7788, sequence: 3, firstCommitted: 501)),
        ("finish", MMonSync(op: .finish, version: 1200, session: 0x1122_3344_5566_7788)),
        ("start_chunks", MMonSync(op: .startChunks, lastKey: SyncKey(prefix: "kv", key: "user/42"),
                                  session: 0x1122_3344_5566_7788, requesterVersion: 1100, window: 8)),
        ("start_chunks_backup", MMonSync(op: .startChunks, flags: .backup, session: 0x1122_3344_5566_7788, sequence: 1, window: 8)),
        ("chunk", MMonSync(op: .chunk, flags: .crc, chunk: [0xDE, 0xAD, 0xBE, 0xEF],
                           lastKey: SyncKey(prefix: "kv", key: "user/43"), crc: CRC32C.checksum([0xDE, 0xAD, 0xBE, 0xEF] as [UInt8]),
                           session: 0x1122_3344_5566_7788, sequence: 9, firstCommitted: 501, estimatedBytes: 1 << 30)),
        ("chunk_last", MMonSync(op: .chunk, flags: [.crc, .last], version: 1234, chunk: [],
                                lastKey: SyncKey(prefix: "paxos", key: "last_committed"), crc: 0,
                                session: 0x1122_3344_5566_7788, sequence: 10, firstCommitted: 501)),
        ("chunk_reply", MMonSync(op: .chunkReply, session: 0x1122_3344_5566_7788, sequence: 9)),
        ("chunk_reply_last", MMonSync(op: .chunkReply, flags: .last, session: 0x1122_3344_5566_7788, sequence: 10)),
        ("finish_reply", MMonSync(op: .finishReply, session: 0x1122_3344_5566_7788)),
        ("abort", MMonSync(op: .abort, session: 0x1122_3344_5566_7788, reason: .cannotServe)),
        ("abort_busy", MMonSync(op: .abort, flags: .retry, session: 0x1122_3344_5566_7788, reason: .busy)),
    ]

    /// A random but valid message: every field drawn from `rng`, flags limited to what the op allows.
    static func random(using rng: inout SeededRandomNumberGenerator) -> MMonSync {
        let op = MMonSync.Op.allCases[Int(rng.next() % UInt64(MMonSync.Op.allCases.count))]
        let flags = MMonSync.Flags(rawValue: UInt8(truncatingIfNeeded: rng.next())).intersection(op.allowedFlags)
        let replyTo: MonitorEntity? = flags.contains(.replyTo) ? randomEntity(using: &rng, nonEmpty: true) : nil
        return MMonSync(
            op: op, flags: flags, version: rng.next(),
            chunk: ArraySlice(randomBytes(count: Int(rng.next() % 300), using: &rng)),
            lastKey: SyncKey(prefix: randomString(using: &rng), key: randomString(using: &rng)),
            crc: UInt32(truncatingIfNeeded: rng.next()), replyTo: replyTo,
            session: rng.next(), sequence: rng.next(), requesterVersion: rng.next(), firstCommitted: rng.next(),
            window: UInt32(truncatingIfNeeded: rng.next()), reason: SyncAbortReason(rawValue: UInt32(truncatingIfNeeded: rng.next())),
            estimatedBytes: rng.next(),
            quorum: (0..<Int(rng.next() % 5)).map { _ in randomEntity(using: &rng, nonEmpty: false) })
    }

    static func randomEntity(using rng: inout SeededRandomNumberGenerator, nonEmpty: Bool) -> MonitorEntity {
        MonitorEntity(rank: Int32(rng.next() % 7) - 1, name: randomString(using: &rng),
                      address: nonEmpty ? "tcp://10.0.0.\(rng.next() % 255):\(rng.next() % 65536)" : randomString(using: &rng))
    }

    /// Strings mixing ASCII, multi-byte UTF-8 and the empty string.
    static func randomString(using rng: inout SeededRandomNumberGenerator) -> String {
        let alphabet: [String] = ["a", "Z", "0", "/", "_", "é", "ß", "🙂", "\u{0}", "mon", "paxos"]
        return (0..<Int(rng.next() % 8)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
    }

    static func randomBytes(count: Int, using rng: inout SeededRandomNumberGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }
}
